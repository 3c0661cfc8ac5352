// Many tensors in one launch (as PyTorch's multi_tensor_apply): the launcher packs up to
// kMaxListTensors tensors' pointers and sizes into a kernel argument (no device-side table to
// upload), cut into chunks of kChunk elements; block b takes chunks b, b + gridDim.x, ...
// An optimizer step over a model's hundred parameters is then a handful of launches instead of
// a hundred. Included by kernel sources only.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/simt.h"

namespace fulgur::FULGUR_KERNEL_NS {

constexpr int kMaxListTensors = 24;
// Multiple of 4 so every chunk starts 16-byte aligned when its tensor does.
constexpr int64_t kChunk = 16384;

// kLists parallel arrays per tensor (e.g. param, grad, exp_avg, exp_avg_sq).
template <int kLists>
struct TensorListArgs {
  int tensors = 0;
  float* ptr[kLists][kMaxListTensors];
  int64_t numel[kMaxListTensors];
  int64_t chunk_begin[kMaxListTensors + 1];  // prefix sums of ceil(numel / kChunk)
};

template <int kLists>
__device__ __forceinline__ int tensor_of_chunk(const TensorListArgs<kLists>& a, int64_t chunk) {
  int t = 0;
  while (t + 1 < a.tensors && chunk >= a.chunk_begin[t + 1]) ++t;
  return t;
}

}  // namespace fulgur::FULGUR_KERNEL_NS
