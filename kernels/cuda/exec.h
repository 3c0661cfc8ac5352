// Where a kernel launcher runs its kernel: on the GPU (the nvcc build of the kernel source)
// or on the CPU through the SIMT emulator (the host-compiler build of the same source). Every
// launcher in kernels/cuda is declared as a template on Exec and specialised once per build,
// so tests name both explicitly: softmax_forward<Exec::Emulated>(...).
#pragma once

#include <cstdint>

namespace fulgur::cuda {

enum class Exec { Gpu, Emulated };

// Whether a launcher may take a kernel's 16-byte (float4 / uint4) access path for p.
inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace fulgur::cuda
