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

// Rows too long for one block's shared memory, on a GPU that launches clusters (sm_90) and
// with cols % 4 == 0 and 16-byte aligned data: a cluster of 2-8 blocks holds the row in their
// shared memory (forward: x; backward: y and dy), a chunk each, so device memory is read once.
// Forward above this many columns (below, one block's shared memory holds the row)...
constexpr int64_t kSoftmaxClusterForwardMinCols = 32768;
// ...backward above this many (below, the second read of a row mostly hits L2).
constexpr int64_t kSoftmaxClusterBackwardMinCols = 16384;
// Staged bytes per block: up to 64 KiB leaves room for three blocks per SM; with 8 blocks a
// chunk may take up to 128 KiB (one block per SM).
constexpr int64_t kSoftmaxClusterChunkBytes = 64 * 1024;
constexpr int64_t kSoftmaxClusterMaxChunkBytes = 128 * 1024;
constexpr int64_t kSoftmaxClusterMaxBlocks = 8;

// Columns of each block's chunk for `blocks` blocks per row: a multiple of 4, so that chunks
// of an aligned row stay aligned (the last chunks may be short or empty).
inline int64_t softmax_chunk_columns(int64_t cols, int64_t blocks) { return ((cols + blocks - 1) / blocks + 3) / 4 * 4; }

// Blocks per row of the cluster kernels for rows of `cols` columns staging `arrays` float
// arrays per column (forward 1, backward 2): the fewest of 2, 4, 8 whose chunks fit 64 KiB,
// else 8 if theirs fit 128 KiB, else 0 (too long: the block-per-row kernels).
inline int64_t softmax_cluster_blocks(int64_t cols, int64_t arrays) {
  auto chunk_bytes = [&](int64_t blocks) { return softmax_chunk_columns(cols, blocks) * arrays * 4; };
  for (int64_t blocks = 2; blocks <= kSoftmaxClusterMaxBlocks; blocks *= 2) {
    if (chunk_bytes(blocks) <= kSoftmaxClusterChunkBytes) return blocks;
  }
  return chunk_bytes(kSoftmaxClusterMaxBlocks) <= kSoftmaxClusterMaxChunkBytes ? kSoftmaxClusterMaxBlocks : 0;
}

// Blocks per row when softmax (backward: its gradient) takes the cluster kernels for an
// aligned rows x cols shape on a device with clusters; 0 when it does not.
inline int64_t softmax_row_cluster(int64_t rows, int64_t cols, bool backward) {
  if (cols % 4 != 0 || softmax_row_splits(rows, cols) > 1) return 0;
  if (cols <= (backward ? kSoftmaxClusterBackwardMinCols : kSoftmaxClusterForwardMinCols)) return 0;
  const int64_t blocks = softmax_cluster_blocks(cols, backward ? 2 : 1);
  // Backward rows whose chunks (y and dy) need more than kSoftmaxClusterChunkBytes ran at 45% of
  // the copy on an H200 (131072 columns: one block per SM keeps too few loads in flight), where
  // the block-per-row kernel gives 61% (docs/PERFORMANCE.md, "The third GPU run").
  if (backward && softmax_chunk_columns(cols, blocks) * 2 * 4 > kSoftmaxClusterChunkBytes) return 0;
  return rows * blocks <= INT32_MAX ? blocks : 0;  // grid.x = rows x blocks
}

// The cluster kernels with `blocks` blocks (1..8) per row whatever the shape, for tests and
// benchmarks. Throws fulgur::Error unless cols % 4 == 0, the pointers are 16-byte aligned, a
// block's chunk fits kSoftmaxClusterMaxChunkBytes and the device launches clusters.
template <Exec E>
void softmax_forward_in_clusters(const float* x, float* y, int64_t rows, int64_t cols, bool log, int64_t blocks,
                                 void* stream);
template <Exec E>
void softmax_backward_in_clusters(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                  int64_t blocks, void* stream);

// Whether the cluster kernels run on the current device: always on the emulator; on a GPU that
// launches clusters, when they were compiled for sm_90 or later. Where they do not, the shapes
// that would take them take the block-per-row kernels.
template <Exec E>
bool softmax_cluster_kernels_run();

// Which kernel a shape takes for aligned data (for benchmarks, docs and tests); `clusters`:
// softmax_cluster_kernels_run<E>() on the device that runs it.
inline const char* softmax_kernel_name(int64_t cols) {
  return cols <= kSoftmaxWarpMaxCols ? "warp-per-row" : "block-per-row";
}
inline const char* softmax_kernel_name(int64_t rows, int64_t cols, bool backward, bool clusters) {
  if (softmax_row_splits(rows, cols) > 1) return "multi-block-per-row";
  if (clusters && softmax_row_cluster(rows, cols, backward) > 0) return "cluster-per-row";
  return softmax_kernel_name(cols);
}

}  // namespace fulgur::cuda
