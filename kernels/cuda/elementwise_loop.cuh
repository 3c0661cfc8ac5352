// The index math and launch shape shared by the element-wise kernels: a grid-stride loop over
// the flat (row-major) index of the launch, each operand's byte offset computed from its
// strides in ElementwiseArgs (stride 0 for broadcast dims, any sign and order). tensor/
// coalesces dims first, so contiguous operands arrive as one dim and take a single multiply.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

// Emulated launches are small (the emulator runs these kernels' threads one after another,
// FULGUR_LAUNCH_INDEPENDENT); the grid-stride loop makes results independent of the shape.
#if FULGUR_SIMT_EMULATED
constexpr int kElementwiseThreads = 32;
constexpr int64_t kElementwiseMaxBlocks = 2;
#else
constexpr int kElementwiseThreads = 256;
constexpr int64_t kElementwiseMaxBlocks = 8192;
#endif

inline dim3 elementwise_grid(int64_t n) {
  int64_t blocks = (n + kElementwiseThreads - 1) / kElementwiseThreads;
  blocks = blocks < 1 ? 1 : blocks > kElementwiseMaxBlocks ? kElementwiseMaxBlocks : blocks;
  return dim3(static_cast<unsigned>(blocks));
}

// Byte offsets of flat index i in the first N operands.
template <int N>
__device__ __forceinline__ void operand_offsets(const kernels::ElementwiseArgs& a, int64_t i, int64_t* off) {
  if (a.ndim <= 1) {
FULGUR_UNROLL
    for (int o = 0; o < N; ++o) off[o] = a.ndim == 0 ? 0 : i * a.op[o].strides[0];
    return;
  }
FULGUR_UNROLL
  for (int o = 0; o < N; ++o) off[o] = 0;
  int64_t rem = i;
  for (int d = a.ndim - 1; d >= 0; --d) {
    const int64_t idx = rem % a.sizes[d];
    rem /= a.sizes[d];
FULGUR_UNROLL
    for (int o = 0; o < N; ++o) off[o] += idx * a.op[o].strides[d];
  }
}

template <typename T>
__device__ __forceinline__ T& element(const kernels::Operand& op, int64_t offset) {
  return *reinterpret_cast<T*>(op.data + offset);
}

#define FULGUR_GRID_STRIDE_LOOP(i, n)                                                           \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS
