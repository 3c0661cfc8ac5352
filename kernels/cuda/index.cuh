// gather / scatter along one dimension (kernel_args.h: IndexArgs), the semantics of
// kernels/cpu/index.cc.
//
// gather: one thread per element of the index shape (a grid-stride loop), reading
// self[i with i[dim] = index[i]].
// scatter: one thread per line along `dim` (every index position but dim), walking the line
// in order, so duplicate indices resolve as on the CPU and the same way every run: the last
// write wins for Assign, and Add sums in index order (deterministic, no atomics, bit for bit
// the CPU's sums). Lines never share a destination, so threads never race.
// An index out of [0, self_dim_size) is recorded in a two-word flag (first reporter wins,
// through atomicCAS) and skipped; the launcher reads the flag back and throws fulgur::Error,
// as the CPU does. That read waits for the stream: PyTorch raises a device-side assert
// instead, which leaves the CUDA context unusable.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/dtypes.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/elementwise_loop.cuh"
#include "kernels/cuda/scratch.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

// flag[0]: 1 once an index was out of range; flag[1]: that index.
__device__ __forceinline__ bool index_in_range(int64_t i, int64_t size, unsigned long long* flag) {
  if (i >= 0 && i < size) return true;
  if (atomicCAS(&flag[0], 0ull, 1ull) == 0ull) flag[1] = static_cast<unsigned long long>(i);
  return false;
}

// Byte offsets of position `flat` (row-major over a.sizes, skipping `skip_dim` if >= 0) in
// self, index and other.
__device__ __forceinline__ void index_offsets(const kernels::IndexArgs& a, int64_t flat, int skip_dim,
                                              int64_t* self, int64_t* index, int64_t* other) {
  *self = *index = *other = 0;
  for (int d = a.ndim - 1; d >= 0; --d) {
    if (d == skip_dim) continue;
    const int64_t i = flat % a.sizes[d];
    flat /= a.sizes[d];
    *self += i * a.self_strides[d];
    *index += i * a.index_strides[d];
    *other += i * a.other_strides[d];
  }
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads)
    gather_kernel(kernels::IndexArgs a, int64_t numel, unsigned long long* flag) {
  FULGUR_GRID_STRIDE_LOOP(e, numel) {
    // Offsets of e in index and out; self's over every dim but dim (that one is the index).
    int64_t so = 0, io = 0, oo = 0, rem = e;
    for (int d = a.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % a.sizes[d];
      rem /= a.sizes[d];
      if (d != a.dim) so += c * a.self_strides[d];
      io += c * a.index_strides[d];
      oo += c * a.other_strides[d];
    }
    const int64_t i = *reinterpret_cast<const int64_t*>(a.index + io);
    if (!index_in_range(i, a.self_dim_size, flag)) continue;
    *reinterpret_cast<T*>(a.other + oo) =
        *reinterpret_cast<const T*>(a.self + so + (a.ndim ? i * a.self_strides[a.dim] : 0));
  }
}

template <typename T, bool kAdd>
__global__ void __launch_bounds__(kElementwiseThreads)
    scatter_kernel(kernels::IndexArgs a, int64_t lines, int64_t line_len, unsigned long long* flag) {
  const int64_t is = a.ndim ? a.index_strides[a.dim] : 0;
  const int64_t os = a.ndim ? a.other_strides[a.dim] : 0;
  const int64_t ss = a.ndim ? a.self_strides[a.dim] : 0;
  FULGUR_GRID_STRIDE_LOOP(l, lines) {
    int64_t so, io, oo;
    index_offsets(a, l, a.ndim ? a.dim : -1, &so, &io, &oo);
    for (int64_t j = 0; j < line_len; ++j) {
      const int64_t i = *reinterpret_cast<const int64_t*>(a.index + io + j * is);
      if (!index_in_range(i, a.self_dim_size, flag)) continue;
      T* dst = reinterpret_cast<T*>(a.self + so + i * ss);
      const T v = *reinterpret_cast<const T*>(a.other + oo + j * os);
      if constexpr (!kAdd) {
        *dst = v;
      } else if constexpr (std::is_same_v<T, bool>) {
        *dst = *dst || v;
      } else if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        *dst = static_cast<T>(static_cast<U>(*dst) + static_cast<U>(v));
      } else {
        *dst = from_opmath<T>(to_opmath(*dst) + to_opmath(v));
      }
    }
  }
}

void throw_if_out_of_range(const kernels::IndexArgs& a, const unsigned long long* flag, void* stream, const char* op) {
  unsigned long long host[2] = {0, 0};
  read_to_host(flag, host, 2, stream, op);
  FULGUR_CHECK(host[0] == 0, op, "index ", static_cast<int64_t>(host[1]), " is out of bounds for dimension ", a.dim,
               " with size ", a.self_dim_size, " (on a CUDA tensor; elements with valid indices were written)");
}

int64_t index_numel(const kernels::IndexArgs& a) {
  int64_t n = 1;
  for (int d = 0; d < a.ndim; ++d) n *= a.sizes[d];
  return n;
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_gather<FULGUR_EXEC>(const kernels::IndexArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const int64_t n = index_numel(args);
  if (n == 0) return;
  Scratch<unsigned long long> flag(2, stream, "gather", /*zeroed=*/true);
  visit_device_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((gather_kernel<T>), elementwise_grid(n), dim3(kElementwiseThreads), stream, args, n, flag.data());
  });
  throw_if_out_of_range(args, flag.data(), stream, "gather");
}

template <>
void tensor_scatter<FULGUR_EXEC>(const kernels::IndexArgs& args, kernels::ScatterMode mode, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const int64_t n = index_numel(args);
  if (n == 0) return;
  const int64_t line_len = args.ndim ? args.sizes[args.dim] : 1;
  const int64_t lines = n / line_len;
  const char* op = mode == kernels::ScatterMode::Add ? "scatter_add" : "scatter";
  Scratch<unsigned long long> flag(2, stream, op, /*zeroed=*/true);
  visit_device_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (mode == kernels::ScatterMode::Add) {
      FULGUR_LAUNCH_INDEPENDENT((scatter_kernel<T, true>), elementwise_grid(lines), dim3(kElementwiseThreads), stream, args,
                    lines, line_len, flag.data());
    } else {
      FULGUR_LAUNCH_INDEPENDENT((scatter_kernel<T, false>), elementwise_grid(lines), dim3(kElementwiseThreads), stream, args,
                    lines, line_len, flag.data());
    }
  });
  throw_if_out_of_range(args, flag.data(), stream, op);
}

}  // namespace fulgur::cuda
