// Row-wise sort / top-k (kernel_args.h: SortArgs), the order of kernels/cpu/sort.cc: values
// compare with NaN above every number, ties break on position, so the order is total, every
// sort is stable and top-k is deterministic (the result equals the CPU's exactly).
//
// Algorithm: one block per row runs a bitonic sorting network over the row's positions
// (padded to a power of two P; padding sorts after everything), in a global-memory scratch
// of rows x P int64 positions: log2(P) * (log2(P) + 1) / 2 compare-exchange steps, each
// over P / 2 pairs split among the block's threads, separated by __syncthreads(). Because
// the comparison is a total order, the network's result is the unique sorted order. Then the
// first k positions and their values are written. O(P log^2 P) work per row: fine for the
// sort/topk sizes of training code (class scores, metrics); a radix sort would be the next
// step for rows of millions.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/dtypes.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/scratch.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

#if FULGUR_SIMT_EMULATED
constexpr int kSortThreads = 32;
#else
constexpr int kSortThreads = 512;
#endif

// Whether position i sorts before position j in `row` (a total order; -1 is padding, last).
template <typename T>
__device__ __forceinline__ bool sorts_before(const T* row, int64_t i, int64_t j, bool descending) {
  if (i < 0 || j < 0) return j < 0 && i >= 0;
  const auto x = to_opmath(row[i]), y = to_opmath(row[j]);
  if constexpr (kFloating<T>) {
    const bool xn = x != x, yn = y != y;
    if (xn || yn) {
      if (xn && yn) return i < j;
      return descending ? xn : yn;
    }
  }
  if (x != y) return descending ? x > y : x < y;
  return i < j;
}

template <typename T>
__global__ void __launch_bounds__(kSortThreads) sort_kernel(kernels::SortArgs a, int64_t P, int64_t* scratch) {
  const int64_t r = blockIdx.x;
  const T* row = reinterpret_cast<const T*>(a.in) + r * a.n;
  int64_t* pos = scratch + r * P;
  for (int64_t i = threadIdx.x; i < P; i += blockDim.x) pos[i] = i < a.n ? i : -1;
  __syncthreads();
  for (int64_t size = 2; size <= P; size <<= 1) {
    for (int64_t stride = size >> 1; stride > 0; stride >>= 1) {
      for (int64_t t = threadIdx.x; t < P / 2; t += blockDim.x) {
        // Pair t: the lower element i (bit `stride` clear) and its partner i + stride.
        const int64_t i = (t / stride) * stride * 2 + t % stride;
        const int64_t j = i + stride;
        const bool ascending = (i & size) == 0;  // direction of this bitonic half
        const int64_t pi = pos[i], pj = pos[j];
        if (sorts_before(row, pj, pi, a.descending) == ascending) {
          pos[i] = pj;
          pos[j] = pi;
        }
      }
      __syncthreads();
    }
  }
  T* values = reinterpret_cast<T*>(a.values) + r * a.k;
  int64_t* indices = a.indices + r * a.k;
  for (int64_t j = threadIdx.x; j < a.k; j += blockDim.x) {
    values[j] = row[pos[j]];
    indices[j] = pos[j];
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_sort<FULGUR_EXEC>(const kernels::SortArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  if (args.rows == 0 || args.k == 0) return;
  FULGUR_CHECK(args.rows <= INT32_MAX, "sort", "at most 2^31 - 1 rows on CUDA, got ", args.rows,
               "; hint: sort fewer rows per call");
  int64_t P = 1;
  while (P < args.n) P <<= 1;
  Scratch<int64_t> scratch(args.rows * P, stream, "sort");
  visit_device_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH((sort_kernel<T>), dim3(static_cast<unsigned>(args.rows)), dim3(kSortThreads), 0, stream, args, P,
                  scratch.data());
  });
}

}  // namespace fulgur::cuda
