// cuBLASLt behind the kernel table's GEMM on a real GPU: the baseline and fallback of our own
// GEMMs (gemm_choice.h decides per shape which one runs).
//
// * libcublasLt is loaded with dlopen on the first GEMM on a GPU, not linked: every binary
//   of this project starts (and the emulated device works) where cuBLASLt is absent, and a
//   missing library is a reason in gemm_choice(), not a load failure.
// * Operands map as in gemm_layout.h. cuBLASLt is column-major, so the row-major product
//   C = A @ B runs as C^T = B^T @ A^T: the same bytes, operands swapped.
// * float32 computes in float32 (no TF32, as PyTorch's default); float16 / bfloat16 accumulate
//   in float32 and round once, with split-K partial sums kept in float32 (never in the
//   output type); float64 in float64. beta == 0 never reads C.
// * One handle per device (kept for the process); each call's workspace from the device's
//   caching allocator on the call's stream; the algorithm cuBLASLt's heuristic picks per
//   problem (shape, layout, alignment), or that it has none, cached.
// * A problem cuBLASLt has no algorithm for (an odd alignment, say) runs on `fallback`: our
//   GEMM, so that what is valid on one path is valid on the other.
#pragma once

#include <functional>
#include <string>

#include "fulgur/kernels/kernel_args.h"

namespace fulgur::cuda {

// Whether cuBLASLt can run on `device` (the first call loads the library and creates the
// device's handle); why not in *why otherwise.
bool cublaslt_ready(int device, std::string* why);

using GemmFallback = std::function<void(const kernels::GemmArgs&)>;

// args on cuBLASLt, queued on `stream` of the current device, which must be cublaslt_ready;
// float32, float64, float16, bfloat16. The whole problem, or a batch of it, for which cuBLASLt
// has no algorithm goes to `fallback` (on the same stream: the caller's).
void cublaslt_gemm(const kernels::GemmArgs& args, void* stream, const GemmFallback& fallback);

}  // namespace fulgur::cuda
