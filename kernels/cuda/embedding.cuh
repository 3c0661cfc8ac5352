// Embedding forward: a block copies rows of the table (coalesced across the row). Backward: a
// thread per column walks all indices in order and accumulates into its column of the gradient
// table: no atomics, so the sums are bit-reproducible (PyTorch sorts the indices instead; this
// is simpler and enough for vocabulary-sized tables; its parallelism is dim, not n).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/embedding.h"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/error.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

__global__ void embedding_forward_kernel(const int64_t* __restrict__ index, const float* __restrict__ weight,
                                         float* __restrict__ out, int64_t n, int64_t rows, int64_t dim, int* bad) {
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const int64_t r = index[i];
    const bool ok = r >= 0 && r < rows;
    if (!ok && bad && threadIdx.x == 0) atomicCAS(bad, 0, static_cast<int>(i + 1));
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) out[i * dim + c] = ok ? weight[r * dim + c] : NAN;
  }
}

__global__ void embedding_backward_kernel(const int64_t* __restrict__ index, const float* __restrict__ dout,
                                          float* __restrict__ dweight, int64_t n, int64_t rows, int64_t dim,
                                          int64_t padding_idx) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= dim) return;
  for (int64_t r = 0; r < rows; ++r) dweight[r * dim + c] = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = index[i];
    if (r == padding_idx || r < 0 || r >= rows) continue;
    dweight[r * dim + c] += dout[i * dim + c];
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void embedding_forward<FULGUR_EXEC>(const int64_t* index, const float* weight, float* out, int64_t n,
                                    int64_t num_embeddings, int64_t dim, int* bad_index, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  if (n < 0 || num_embeddings < 0 || dim < 0) {
    throw Error("embedding (cuda): negative size: n " + std::to_string(n) + ", table " +
                std::to_string(num_embeddings) + " x " + std::to_string(dim));
  }
  if (n == 0 || dim == 0) return;
  const unsigned threads = dim >= 256 ? 256u : static_cast<unsigned>((dim + 31) / 32 * 32);
  FULGUR_LAUNCH(embedding_forward_kernel, dim3(static_cast<unsigned>(n > 65535 ? 65535 : n)), dim3(threads), 0, stream,
                index, weight, out, n, num_embeddings, dim, bad_index);
}

template <>
void embedding_backward<FULGUR_EXEC>(const int64_t* index, const float* dout, float* dweight, int64_t n,
                                     int64_t num_embeddings, int64_t dim, int64_t padding_idx, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  if (n < 0 || num_embeddings < 0 || dim < 0) {
    throw Error("embedding backward (cuda): negative size: n " + std::to_string(n) + ", table " +
                std::to_string(num_embeddings) + " x " + std::to_string(dim));
  }
  if (num_embeddings == 0 || dim == 0) return;
  FULGUR_LAUNCH(embedding_backward_kernel, dim3(static_cast<unsigned>((dim + 127) / 128)), dim3(128), 0, stream, index,
                dout, dweight, n, num_embeddings, dim, padding_idx);
}

}  // namespace fulgur::cuda
