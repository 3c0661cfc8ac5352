// Which of our tensor-core GEMM kernels (gemm.h) a call runs, and why: the mma.sync kernel
// (any sm_80+ GPU) or the Hopper wgmma/TMA kernel. Pure rules, testable without a GPU; gemm<E>
// applies them with the current device's compute capability (the SIMT emulator's is 9.0: it
// runs both kernels).
//
// The wgmma kernel runs when it was asked for (GemmArgs::kernel = Wgmma) or by default
// (GemmKernel::Auto; measured faster on an H200, docs/PERFORMANCE.md), and:
//   * the device has compute capability 9.0 (its sm_90a code runs nowhere else);
//   * K > 0 (TMA describes no empty matrix);
//   * A and B can be described by TMA tensor maps: 16-byte aligned pointers, leading
//     dimensions (and batch strides, when batched and not broadcast) multiples of 8 elements;
//   * the sizes fit its grid: at most 2^30 tiles of 128 x 128 over all batches (M rounded up
//     to pairs of tile rows), so that a block per tile fits grid.x.
// Otherwise it is the mma.sync kernel, which has no alignment rules.
#pragma once

#include <string>

#include "fulgur/kernels/cuda/gemm.h"

namespace fulgur::cuda {

struct GemmKernelChoice {
  GemmKernel kernel = GemmKernel::MmaSync;
  std::string why;  // why this kernel (always filled)
};

// `args` as given to gemm (leading dimensions of 0 mean packed); compute_capability is
// major * 10 + minor of the device it would run on.
GemmKernelChoice choose_gemm_kernel(const GemmArgs& args, int compute_capability);

// What gemm<E>(args) runs: the rule above on the current device (Exec::Gpu: and mma.sync when
// the loaded image is not the sm_90a code or the driver has no TMA encoder) or on the emulator
// (an sm_90a device with TMA). Defined with gemm<E> (gemm.cuh).
template <Exec E>
GemmKernelChoice gemm_kernel_for(const GemmArgs& args);
template <>
GemmKernelChoice gemm_kernel_for<Exec::Gpu>(const GemmArgs& args);
template <>
GemmKernelChoice gemm_kernel_for<Exec::Emulated>(const GemmArgs& args);

// args with every leading dimension of 0 replaced by the packed one (gemm.h's convention).
GemmArgs with_leading_dimensions(const GemmArgs& args);

}  // namespace fulgur::cuda
