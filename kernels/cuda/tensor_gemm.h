// The CUDA backend's GEMM for float32 and float64 tensors (tensor_gemm.cuh), on the launch
// descriptor of kernels/kernel_args.h: C[b] = alpha * A[b] @ B[b] + beta * C[b] with any
// element strides (a_rs, a_cs), per-batch byte offsets (host arrays) and beta == 0 ignoring
// C's old contents. fp16/bf16 matmuls take the tensor-core GEMM (gemm.h) instead. Pointers are
// device pointers for Exec::Gpu, host pointers for Exec::Emulated; `stream` a cudaStream_t.
// Other dtypes throw fulgur::Error before anything is launched.
#pragma once

#include "fulgur/kernels/cuda/exec.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::cuda {

template <Exec E>
void tensor_gemm(const kernels::GemmArgs& args, void* stream);

template <>
void tensor_gemm<Exec::Gpu>(const kernels::GemmArgs& args, void* stream);
template <>
void tensor_gemm<Exec::Emulated>(const kernels::GemmArgs& args, void* stream);

}  // namespace fulgur::cuda
