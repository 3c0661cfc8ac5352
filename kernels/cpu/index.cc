// gather / scatter along one dimension. Scatter runs each line along `dim` in order on one
// thread (lines in parallel), so duplicate indices resolve the same way every run: the last
// write wins for Assign, and Add sums in index order.
#include <algorithm>
#include <cstring>
#include <string>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {
namespace {

inline int64_t checked_index(const IndexArgs& a, const char* p, const char* op) {
  const int64_t i = *reinterpret_cast<const int64_t*>(p);
  FULGUR_CHECK(i >= 0 && i < a.self_dim_size, op, "index ", i,
               " is out of bounds for dimension ", a.dim, " with size ", a.self_dim_size);
  return i;
}

// Visits every line along `dim` of the index shape: fn(self, index, other) base pointers.
template <typename Fn>
void for_each_line(const IndexArgs& a, Fn&& fn) {
  int64_t lines = 1;
  for (int d = 0; d < a.ndim; ++d)
    if (d != a.dim) lines *= a.sizes[d];
  if (a.ndim > 0 && a.sizes[a.dim] == 0) return;
  const int64_t line_len = a.ndim > 0 ? a.sizes[a.dim] : 1;
  parallel_for(0, lines, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, line_len)),
               [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l) {
      char* self = a.self;
      const char* index = a.index;
      char* other = a.other;
      int64_t rem = l;
      for (int d = a.ndim - 1; d >= 0; --d) {
        if (d == a.dim) continue;
        const int64_t i = rem % a.sizes[d];
        rem /= a.sizes[d];
        self += i * a.self_strides[d];
        index += i * a.index_strides[d];
        other += i * a.other_strides[d];
      }
      fn(self, index, other, line_len);
    }
  });
}

// index_select's pattern: the index does not vary along the other dims (stride 0), so each
// index is read and checked once and the whole slice it selects is copied: one memcpy per
// index when the slice is contiguous in both tensors (rows of a dataset), instead of one
// checked, strided element at a time. Returns false for other index layouts.
bool gather_slices(const IndexArgs& a, int64_t element_size) {
  if (a.ndim == 0) return false;
  int64_t slice = 1, expect = element_size;
  bool contiguous = true;
  for (int d = a.ndim - 1; d >= 0; --d) {
    if (d == a.dim) continue;
    if (a.index_strides[d] != 0 && a.sizes[d] != 1) return false;
    if (a.sizes[d] != 1 && (a.self_strides[d] != expect || a.other_strides[d] != expect)) contiguous = false;
    expect *= a.sizes[d];
    slice *= a.sizes[d];
  }
  const int64_t n = a.sizes[a.dim];
  if (n == 0 || slice == 0) return true;
  const int64_t is = a.index_strides[a.dim], os = a.other_strides[a.dim], ss = a.self_strides[a.dim];
  // Elements of one slice: the other dims, walked in row-major order (strided fallback).
  auto copy_slice = [&](const char* src, char* dst) {
    if (contiguous) {
      std::memcpy(dst, src, static_cast<size_t>(slice * element_size));
      return;
    }
    int64_t idx[kMaxDims] = {};
    for (int64_t e = 0; e < slice; ++e) {
      const char* s = src;
      char* o = dst;
      for (int d = 0; d < a.ndim; ++d) {
        if (d == a.dim) continue;
        s += idx[d] * a.self_strides[d];
        o += idx[d] * a.other_strides[d];
      }
      std::memcpy(o, s, static_cast<size_t>(element_size));
      for (int d = a.ndim - 1; d >= 0; --d) {
        if (d == a.dim) continue;
        if (++idx[d] < a.sizes[d]) break;
        idx[d] = 0;
      }
    }
  };
  parallel_for(0, n, std::max<int64_t>(1, kDefaultGrain / slice), [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t i = checked_index(a, a.index + j * is, "gather");
      copy_slice(a.self + i * ss, a.other + j * os);
    }
  });
  return true;
}

}  // namespace

void gather(const IndexArgs& a) {
  visit_dtype(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (gather_slices(a, static_cast<int64_t>(sizeof(T)))) return;
    const int64_t is = a.ndim ? a.index_strides[a.dim] : 0;
    const int64_t os = a.ndim ? a.other_strides[a.dim] : 0;
    const int64_t ss = a.ndim ? a.self_strides[a.dim] : 0;
    for_each_line(a, [&](char* self, const char* index, char* out, int64_t len) {
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = checked_index(a, index + j * is, "gather");
        *reinterpret_cast<T*>(out + j * os) = *reinterpret_cast<const T*>(self + i * ss);
      }
    });
  });
}

void scatter(const IndexArgs& a, ScatterMode mode) {
  visit_dtype(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using M = opmath_t<T>;
    const int64_t is = a.ndim ? a.index_strides[a.dim] : 0;
    const int64_t os = a.ndim ? a.other_strides[a.dim] : 0;
    const int64_t ss = a.ndim ? a.self_strides[a.dim] : 0;
    const char* op = mode == ScatterMode::Add ? "scatter_add" : "scatter";
    for_each_line(a, [&](char* self, const char* index, char* src, int64_t len) {
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = checked_index(a, index + j * is, op);
        T* dst = reinterpret_cast<T*>(self + i * ss);
        const T v = *reinterpret_cast<const T*>(src + j * os);
        if (mode == ScatterMode::Assign) {
          *dst = v;
        } else if constexpr (std::is_same_v<T, bool>) {
          *dst = *dst || v;
        } else if constexpr (std::is_integral_v<T>) {
          using U = std::make_unsigned_t<T>;
          *dst = static_cast<T>(static_cast<U>(*dst) + static_cast<U>(v));
        } else {
          *dst = static_cast<T>(static_cast<M>(*dst) + static_cast<M>(v));
        }
      }
    });
  });
}

}  // namespace fulgur::kernels::cpu
