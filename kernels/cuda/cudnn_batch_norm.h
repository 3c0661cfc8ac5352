// cuDNN behind the kernel table's training-mode batch norm on a real GPU (kernel_args.h:
// BatchNormArgs): cudnnBatchNormalizationForwardTraining and cudnnBatchNormalizationBackward
// in spatial mode over x viewed as [N, C, S, 1], statistics and parameters in float32 (float64
// for float64 data), as cuDNN wants. cuDNN keeps the running variance unbiased and normalises
// with the biased one, as torch does (torch's CUDA batch norm is this call).
#pragma once

#include "fulgur/kernels/cuda/cudnn_library.h"  // cudnn_ready
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::cuda {

// Whether args can run on cuDNN on `device`: floating dtypes (bfloat16 from compute
// capability 8.0), x under 2^31 elements, a batch of at most 880801.
bool cudnn_supports_batch_norm(const kernels::BatchNormArgs& args, int device);

// Queued on `stream` of the current device; args must be cudnn_supports_batch_norm's.
void cudnn_batch_norm_forward(const kernels::BatchNormArgs& args, void* stream);
void cudnn_batch_norm_backward(const kernels::BatchNormArgs& args, void* stream);

}  // namespace fulgur::cuda
