// fp16 / bf16 matmuls of CUDA tensors on the tensor-core GEMM (gemm.h): the kernel table's
// GemmArgs (element strides, per-batch byte offsets, alpha, beta) mapped onto gemm.h's
// row-major operands with transposes and leading dimensions. Accumulation is fp32 and the
// result is rounded once to the output dtype, as the CPU's fp16/bf16 GEMM does.
//   * A with unit column stride is op(A) = A (lda = row stride); with unit row stride it is
//     stored transposed (trans_a, lda = column stride); likewise B. tensor/ gives every GEMM
//     operand one unit stride (it copies other layouts first).
//   * beta == 0: D = alpha * A @ B. beta == 1: C is the epilogue's residual, read and written
//     in place by the same thread (Linear's bias, pre-filled into C). Another beta is refused:
//     the epilogue has no scaled residual (fp16/bf16 addmm with beta other than 0 or 1).
//   * Batches whose offsets are evenly spaced (every broadcast and contiguous batch) are one
//     launch with batch strides; others are launched one batch at a time.
#pragma once

#include "fulgur/kernels/cuda/exec.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::cuda {

template <Exec E>
void tensor_gemm_16bit(const kernels::GemmArgs& args, void* stream);

}  // namespace fulgur::cuda
