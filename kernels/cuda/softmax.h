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

// Few very long rows are cut into chunks, a block each: rows of more than this many columns...
constexpr int64_t kSoftmaxSplitMinCols = 32768;
// ...when there are fewer rows than this: one 512-thread block per row fills 4 blocks per SM,
// so below ~4 x 132 rows (H100/H200) an H200 has idle SMs; 64 keeps the simple path wherever
// rows alone give 64+ blocks.
constexpr int64_t kSoftmaxSplitMaxRows = 64;

// Blocks per row: 1, or enough chunks (of at least 4096 columns, at most 64) for ~256 blocks.
inline int64_t softmax_row_splits(int64_t rows, int64_t cols) {
  if (rows <= 0 || rows >= kSoftmaxSplitMaxRows || cols <= kSoftmaxSplitMinCols) return 1;
  int64_t splits = (256 + rows - 1) / rows;
  if (splits > cols / 4096) splits = cols / 4096;
  if (splits > 64) splits = 64;
  return splits > 1 ? splits : 1;
}

// Which kernel a shape takes (for benchmarks, docs and tests).
inline const char* softmax_kernel_name(int64_t cols) {
  return cols <= kSoftmaxWarpMaxCols ? "warp-per-row" : "block-per-row";
}
inline const char* softmax_kernel_name(int64_t rows, int64_t cols) {
  return softmax_row_splits(rows, cols) > 1 ? "multi-block-per-row" : softmax_kernel_name(cols);
}

}  // namespace fulgur::cuda
