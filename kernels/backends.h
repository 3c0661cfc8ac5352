// The backends compiled into this build (CPU always; CUDA on a GPU in a build with a toolkit,
// or the emulated CUDA device in any build, kernels/cuda/backend.h): the one place that names
// them. tensor/ calls these and never a backend directly, so a new backend
// is added here and in its own folder, and tensor/ does not change.
#pragma once

#include "fulgur/kernels/kernel_table.h"

namespace fulgur::kernels {

// Registers every backend's kernel table and allocator, once.
void ensure_backends_registered();

// The kernel table for `device`, with its backend registered. Throws fulgur::Error naming
// `op` if the device has no backend or the family entry is missing.
const KernelTable& kernels_for_device(Device device, const char* op);

}  // namespace fulgur::kernels
