// Softmax / log-softmax kernels (softmax.cuh) over the last dimension of a contiguous
// rows x cols float32 matrix. Pointers are device pointers for Exec::Gpu and host pointers for
// Exec::Emulated; `stream` is a cudaStream_t (nullptr: the default stream). Launches are
// asynchronous on the GPU.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

// Rows up to this many columns take the warp-per-row kernels; longer ones a block per row.
constexpr int64_t kSoftmaxWarpMaxCols = 1024;

// y = softmax(x) or log_softmax(x) per row.
template <Exec E>
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols, bool log, void* stream);

// dx from the forward's output y and the incoming gradient dy:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - exp(y) * sum(dy)
template <Exec E>
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log, void* stream);

// Which kernel a row length takes (for benchmarks and docs).
inline const char* softmax_kernel_name(int64_t cols) {
  return cols <= kSoftmaxWarpMaxCols ? "warp-per-row" : "block-per-row";
}

}  // namespace fulgur::cuda
