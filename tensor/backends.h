// Registers the kernel tables and allocators of every backend compiled in (CPU always,
// CUDA when built with a toolkit), once, before the first allocation or launch.
#pragma once

#include "fulgur/kernels/kernel_table.h"

namespace fulgur {

void ensure_backends_registered();

// The kernel table for `device`, with its backend registered. Throws fulgur::Error naming
// `op` if the device has no backend or the family entry is missing.
const kernels::KernelTable& kernels_for_device(Device device, const char* op);

}  // namespace fulgur
