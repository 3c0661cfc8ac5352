// LayerNorm over the last dimension of a contiguous rows x cols float32 matrix (layer_norm.cuh),
// as torch.nn.functional.layer_norm: biased variance, y = (x - mean) * rstd * gamma + beta.
// Device pointers for Exec::Gpu, host pointers for Exec::Emulated.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

// gamma / beta may be nullptr (no affine). mean and rstd (rows each) are saved for backward.
template <Exec E>
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, float eps, void* stream);

// dx (rows x cols); dgamma / dbeta (cols each) when non-null, summed over rows in a fixed
// order (deterministic). `workspace` holds ceil(rows / 32) * 2 * cols floats when dgamma or
// dbeta is requested (layer_norm_workspace_floats); nullptr: the launcher allocates one on
// the stream for this call.
template <Exec E>
void layer_norm_backward(const float* x, const float* dy, const float* gamma, const float* mean, const float* rstd,
                         float* dx, float* dgamma, float* dbeta, float* workspace, int64_t rows, int64_t cols,
                         void* stream);

inline int64_t layer_norm_workspace_floats(int64_t rows, int64_t cols) { return (rows + 31) / 32 * 2 * cols; }

}  // namespace fulgur::cuda
