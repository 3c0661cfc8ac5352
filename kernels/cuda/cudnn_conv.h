// cuDNN behind the kernel table's convolution on a real GPU (kernel_args.h: ConvArgs).
//
// * libcudnn is loaded with dlopen on the first convolution on a GPU, not linked: every binary
//   starts (and the emulated device works) where cuDNN is absent, and convolutions then
//   compose im2col and our GEMM (tensor/fused_conv.h asks cudnn_supports first).
// * cuDNN 9's convolution API (cudnnConvolutionForward / BackwardData / BackwardFilter), on
//   NCHW / NCDHW tensors; 1-D convolutions run as 2-D with a height of 1, as PyTorch's do.
// * float32 computes in float32 (FMA math, no TF32, as our GEMMs and PyTorch's default for
//   matmul); float16 / bfloat16 on tensor cores with float32 accumulation; float64 in float64.
// * The algorithm per problem and direction: cuDNN's heuristic ranking (or, with
//   ConvArgs::benchmark, cudnnFind*AlgorithmEx's timed runs, fastest first); the first
//   candidate that is deterministic when ConvArgs::deterministic asks for it, needs at most
//   1 GiB of workspace, and actually runs (a listed algorithm can still refuse the problem, or
//   its workspace fail to allocate: the next is tried) is cached for the process. float32
//   always runs with FMA math: cuDNN's DEFAULT math would allow TF32 on sm_80+.
// * One handle per device (cudnn_library.h); each call's workspace from the caching allocator
//   on its stream.
#pragma once

#include "fulgur/kernels/cuda/cudnn_library.h"  // cudnn_ready
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::cuda {

// Whether args can run on cuDNN on `device`: floating dtypes (bfloat16
// from compute capability 8.0), 1-3 spatial dims, every tensor under 2^31 elements.
bool cudnn_supports(const kernels::ConvArgs& args, int device);

// Queued on `stream` of the current device; args must be cudnn_supports'.
void cudnn_conv_forward(const kernels::ConvArgs& args, void* stream);
void cudnn_conv_backward_input(const kernels::ConvArgs& args, void* stream);
void cudnn_conv_backward_weight(const kernels::ConvArgs& args, void* stream);

}  // namespace fulgur::cuda
