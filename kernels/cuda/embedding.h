// Embedding lookup kernels (embedding.cuh) on a contiguous float32 table and int64 indices.
// Device pointers for Exec::Gpu, host pointers for Exec::Emulated.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

// out[i, :] = weight[index[i], :] for n indices into a num_embeddings x dim table. An index
// out of range sets *bad_index (when given) to 1 + i and writes NaN.
template <Exec E>
void embedding_forward(const int64_t* index, const float* weight, float* out, int64_t n, int64_t num_embeddings,
                       int64_t dim, int* bad_index, void* stream);

// dweight (zeroed here first) [index[i], :] += dout[i, :], skipping padding_idx (pass -1 for
// none). Deterministic: each thread owns one column and walks the indices in order.
template <Exec E>
void embedding_backward(const int64_t* index, const float* dout, float* dweight, int64_t n, int64_t num_embeddings,
                        int64_t dim, int64_t padding_idx, void* stream);

}  // namespace fulgur::cuda
