// Reductions: sum, prod, max/min (with their int64 indices), all, any, over any set of dims.
// Algorithm: 64-thread blocks. Each output's reduced positions are cut into `splits`
// contiguous chunks, and one block folds one chunk: thread t takes the chunk's positions t,
// t + 64, t + 128, ... in increasing order (offsets from the reduced dims' strides), then the
// 64 partials are combined by a fixed tree in shared memory (32, 16, ..., 1). With one chunk
// (many outputs, or few positions each) that block stores the result; otherwise the chunks'
// partials go to a workspace and a second launch combines each output's partials the same way
// (threads over partials in order, then the tree). One block per output was the only form
// before: a full reduction of 6.4M floats then ran on 64 threads of one SM and took 47 ms on an
// H200 (2026-11-29). The split depends on sizes only (never on the GPU), so results are
// deterministic, and the emulated build splits alike and gives the same bits.
// Accumulators as kernels/cpu/reduce.cc: float for fp16/bf16/float, double for double, int64
// (wrapping) for integers and bool. Max/min: the first NaN wins, else the largest/smallest
// value at its lowest position, which every combine keeps by comparing positions; so values
// and indices equal the CPU's sequential fold. Float sums and products differ from the CPU's
// (vectorised) order by rounding only.
#pragma once

#include <cstdint>
#include <type_traits>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/device_math.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/dtypes.cuh"
#include "kernels/cuda/scratch.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

using kernels::ReduceOp;

constexpr int kReduceThreads = 64;
// Splitting: at most this many blocks in all (about 8 per SM of an H100), and at least this
// many positions per chunk (64 per thread), so that a chunk's work outweighs its partial's.
constexpr int64_t kReduceSplitBlocks = 1024;
constexpr int64_t kReduceMinChunk = 64 * kReduceThreads;
#if FULGUR_SIMT_EMULATED
constexpr int64_t kReduceMaxBlocks = 8;
#else
constexpr int64_t kReduceMaxBlocks = 65535;
#endif

template <typename T>
using acc_t = std::conditional_t<kFloating<T>, opmath<T>, int64_t>;

template <typename A>
struct Partial {
  A value;
  int64_t index;  // -1: no element yet (max/min)
};

// numeric_limits<T>::lowest() / max() of an integer type (or bool) as int64 (usable in device code).
template <typename T>
__device__ __forceinline__ int64_t int_lowest() {
  if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) return 0;
  else return static_cast<int64_t>(~(~uint64_t{0} >> (65 - 8 * sizeof(T))));
}
template <typename T>
__device__ __forceinline__ int64_t int_max() {
  if constexpr (std::is_same_v<T, bool>) return 1;
  else if constexpr (std::is_unsigned_v<T>) return static_cast<int64_t>(~uint64_t{0} >> (64 - 8 * sizeof(T)));
  else return static_cast<int64_t>(~uint64_t{0} >> (65 - 8 * sizeof(T)));
}

// The CPU's starting values: what an empty reduction stores.
template <typename T>
__device__ __forceinline__ Partial<acc_t<T>> identity(ReduceOp op) {
  using A = acc_t<T>;
  switch (op) {
    case ReduceOp::Sum: case ReduceOp::Any: return {A(0), -1};
    case ReduceOp::Prod: case ReduceOp::All: return {A(1), -1};
    case ReduceOp::Max:
      if constexpr (kFloating<T>) return {-static_cast<A>(INFINITY), -1};
      else return {int_lowest<T>(), -1};
    case ReduceOp::Min:
      if constexpr (kFloating<T>) return {static_cast<A>(INFINITY), -1};
      else return {int_max<T>(), -1};
  }
  return {A(0), -1};
}

// Whether candidate (value v, position i) replaces the best so far under max (kMax) or min.
template <bool kMax, typename A>
__device__ __forceinline__ bool better(const Partial<A>& best, A v, int64_t i) {
  if (best.index < 0) return true;
  const bool best_nan = math_isnan(best.value), v_nan = math_isnan(v);
  if (best_nan || v_nan) return v_nan && (!best_nan || i < best.index);  // the first NaN wins
  if (v == best.value) return i < best.index;
  return kMax ? v > best.value : v < best.value;
}

// Folds element x at reduced position i into p; also combines two partials (i = other's index).
template <typename A>
__device__ __forceinline__ void fold(ReduceOp op, Partial<A>& p, A x, int64_t i) {
  switch (op) {
    case ReduceOp::Sum:
      if constexpr (std::is_integral_v<A>) p.value = static_cast<A>(static_cast<uint64_t>(p.value) + static_cast<uint64_t>(x));
      else p.value += x;
      break;
    case ReduceOp::Prod:
      if constexpr (std::is_integral_v<A>) p.value = static_cast<A>(static_cast<uint64_t>(p.value) * static_cast<uint64_t>(x));
      else p.value *= x;
      break;
    case ReduceOp::All: p.value = (p.value != A(0)) && (x != A(0)); break;
    case ReduceOp::Any: p.value = (p.value != A(0)) || (x != A(0)); break;
    case ReduceOp::Max:
      if (i >= 0 && better<true>(p, x, i)) p = {x, i};
      break;
    case ReduceOp::Min:
      if (i >= 0 && better<false>(p, x, i)) p = {x, i};
      break;
  }
}

template <typename A>
__device__ __forceinline__ void store_converted(DType dtype, char* out, A v) {
  switch (dtype) {
    case DType::Bool: *reinterpret_cast<bool*>(out) = convert<bool>(v); break;
    case DType::UInt8: *reinterpret_cast<uint8_t*>(out) = convert<uint8_t>(v); break;
    case DType::Int8: *reinterpret_cast<int8_t*>(out) = convert<int8_t>(v); break;
    case DType::Int16: *reinterpret_cast<int16_t*>(out) = convert<int16_t>(v); break;
    case DType::Int32: *reinterpret_cast<int32_t*>(out) = convert<int32_t>(v); break;
    case DType::Int64: *reinterpret_cast<int64_t*>(out) = convert<int64_t>(v); break;
    case DType::Float16: *reinterpret_cast<F16*>(out) = convert<F16>(v); break;
    case DType::BFloat16: *reinterpret_cast<BF16*>(out) = convert<BF16>(v); break;
    case DType::Float32: *reinterpret_cast<float*>(out) = convert<float>(v); break;
    case DType::Float64: *reinterpret_cast<double*>(out) = convert<double>(v); break;
  }
}

// Folds the block's 64 partials by the fixed tree; thread 0 ends with the result.
template <typename A>
__device__ __forceinline__ Partial<A> block_combine(ReduceOp op, Partial<A> p, A* values, int64_t* positions, int t) {
  values[t] = p.value;
  positions[t] = p.index;
  __syncthreads();
  for (int s = kReduceThreads / 2; s > 0; s /= 2) {
    if (t < s) {
      Partial<A> mine{values[t], positions[t]};
      fold(op, mine, values[t + s], positions[t + s]);
      values[t] = mine.value;
      positions[t] = mine.index;
    }
    __syncthreads();
  }
  const Partial<A> result{values[0], positions[0]};
  __syncthreads();  // the next use reuses the shared partials
  return result;
}

// Output o's offsets into the output and the indices.
struct OutputPlace {
  const char* in;
  int64_t out_off, idx_off;
};
__device__ __forceinline__ OutputPlace output_place(const kernels::ReduceArgs& a, int64_t o) {
  OutputPlace place{a.in, 0, 0};
  for (int d = a.nkeep - 1; d >= 0; --d) {
    const int64_t k = o % a.keep_sizes[d];
    o /= a.keep_sizes[d];
    place.in += k * a.in_keep_strides[d];
    place.out_off += k * a.out_strides[d];
    place.idx_off += k * a.idx_strides[d];
  }
  return place;
}

template <typename A>
__device__ __forceinline__ void store_result(const kernels::ReduceArgs& a, const OutputPlace& place, const Partial<A>& p) {
  store_converted(a.out_dtype, a.out + place.out_off, p.value);
  if (a.indices) *reinterpret_cast<int64_t*>(a.indices + place.idx_off) = p.index < 0 ? 0 : p.index;
}

// Block b folds chunk b % splits of output b / splits (blocks stride over the pairs). With one
// chunk it stores the output; else it writes the chunk's partial to partials[b].
template <typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_kernel(kernels::ReduceArgs a, int64_t num_out, int64_t num_red, int64_t splits, int64_t chunk,
                  Partial<acc_t<T>>* partials) {
  using A = acc_t<T>;
  FULGUR_SHARED(A, values, [kReduceThreads]);
  FULGUR_SHARED(int64_t, positions, [kReduceThreads]);
  const int t = static_cast<int>(threadIdx.x);
  for (int64_t b = blockIdx.x; b < num_out * splits; b += gridDim.x) {  // uniform over the block
    const int64_t o = b / splits, begin = (b % splits) * chunk;
    const int64_t end = begin + chunk < num_red ? begin + chunk : num_red;
    const OutputPlace place = output_place(a, o);
    Partial<A> p = identity<T>(a.op);
    for (int64_t r = begin + t; r < end; r += kReduceThreads) {
      int64_t in_off = 0, rr = r;
      for (int d = a.nred - 1; d >= 0; --d) {
        in_off += (rr % a.red_sizes[d]) * a.in_red_strides[d];
        rr /= a.red_sizes[d];
      }
      fold(a.op, p, static_cast<A>(to_opmath(*reinterpret_cast<const T*>(place.in + in_off))), r);
    }
    const Partial<A> total = block_combine(a.op, p, values, positions, t);
    if (t == 0) {
      if (splits == 1) store_result(a, place, total);
      else partials[b] = total;
    }
  }
}

// One block per output (blocks stride over outputs): folds its `splits` partials in order, then
// the tree, and stores the result.
template <typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_combine_kernel(kernels::ReduceArgs a, int64_t num_out, int64_t splits, const Partial<acc_t<T>>* partials) {
  using A = acc_t<T>;
  FULGUR_SHARED(A, values, [kReduceThreads]);
  FULGUR_SHARED(int64_t, positions, [kReduceThreads]);
  const int t = static_cast<int>(threadIdx.x);
  for (int64_t o = blockIdx.x; o < num_out; o += gridDim.x) {
    Partial<A> p = identity<T>(a.op);
    for (int64_t j = t; j < splits; j += kReduceThreads) {
      const Partial<A> q = partials[o * splits + j];
      fold(a.op, p, q.value, q.index);
    }
    const Partial<A> total = block_combine(a.op, p, values, positions, t);
    if (t == 0) store_result(a, output_place(a, o), total);
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_reduce<FULGUR_EXEC>(const kernels::ReduceArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  int64_t num_out = 1, num_red = 1;
  for (int d = 0; d < args.nkeep; ++d) num_out *= args.keep_sizes[d];
  for (int d = 0; d < args.nred; ++d) num_red *= args.red_sizes[d];
  if (num_out == 0) return;
  int64_t splits = 1, chunk = num_red;
  if (num_out < kReduceSplitBlocks && num_red >= 2 * kReduceMinChunk) {
    const int64_t by_blocks = (kReduceSplitBlocks + num_out - 1) / num_out;
    const int64_t by_size = num_red / kReduceMinChunk;
    splits = by_blocks < by_size ? by_blocks : by_size;
    chunk = (num_red + splits - 1) / splits;
    splits = (num_red + chunk - 1) / chunk;  // no empty chunk
  }
  const auto blocks = [](int64_t n) { return dim3(static_cast<unsigned>(n < kReduceMaxBlocks ? n : kReduceMaxBlocks)); };
  visit_device_dtype(args.in_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using P = Partial<acc_t<T>>;
    if (splits == 1) {
      FULGUR_LAUNCH((reduce_kernel<T>), blocks(num_out), dim3(kReduceThreads), 0, stream, args, num_out, num_red,
                    int64_t{1}, chunk, static_cast<P*>(nullptr));
      return;
    }
    Scratch<P> partials(num_out * splits, stream, "reduce");
    FULGUR_LAUNCH((reduce_kernel<T>), blocks(num_out * splits), dim3(kReduceThreads), 0, stream, args, num_out,
                  num_red, splits, chunk, partials.data());
    FULGUR_LAUNCH((reduce_combine_kernel<T>), blocks(num_out), dim3(kReduceThreads), 0, stream, args, num_out, splits,
                  static_cast<const P*>(partials.data()));
  });
}

}  // namespace fulgur::cuda
