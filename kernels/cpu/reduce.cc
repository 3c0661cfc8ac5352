// Reductions (sum, prod, max/min with optional indices, all, any) over any set of dims.
// Determinism: each output is reduced in row-major order of the reduced dims; when there
// are few outputs and many inputs, the reduced range is cut into fixed-size chunks (chosen
// from the sizes only), reduced in parallel and combined in chunk order. So results are
// the same for any thread count.
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {
namespace {

constexpr int64_t kChunk = 32768;

template <typename T>
using acc_t = std::conditional_t<is_floating_v<T>, opmath_t<T>, int64_t>;

// Accumulator state for one output.
template <typename T>
struct Acc {
  acc_t<T> value;
  int64_t index = 0;
};

template <typename T>
bool is_nan_value(acc_t<T> v) {
  if constexpr (is_floating_v<T>) return std::isnan(v); else return false;
}

template <typename T>
Acc<T> identity(ReduceOp op) {
  using A = acc_t<T>;
  switch (op) {
    case ReduceOp::Sum: return {A(0)};
    case ReduceOp::Prod: return {A(1)};
    case ReduceOp::All: return {A(1)};
    case ReduceOp::Any: return {A(0)};
    case ReduceOp::Max:
      if constexpr (is_floating_v<T>) return {-std::numeric_limits<A>::infinity(), -1};
      else return {static_cast<A>(std::numeric_limits<T>::lowest()), -1};
    case ReduceOp::Min:
      if constexpr (is_floating_v<T>) return {std::numeric_limits<A>::infinity(), -1};
      else return {static_cast<A>(std::numeric_limits<T>::max()), -1};
  }
  return {A(0)};
}

// Folds one element (at flat reduced position `pos`) into acc.
template <typename T>
inline void fold(ReduceOp op, Acc<T>& acc, acc_t<T> x, int64_t pos) {
  using A = acc_t<T>;
  switch (op) {
    case ReduceOp::Sum:
      if constexpr (std::is_integral_v<A>) acc.value = static_cast<A>(static_cast<uint64_t>(acc.value) + static_cast<uint64_t>(x));
      else acc.value += x;
      break;
    case ReduceOp::Prod:
      if constexpr (std::is_integral_v<A>) acc.value = static_cast<A>(static_cast<uint64_t>(acc.value) * static_cast<uint64_t>(x));
      else acc.value *= x;
      break;
    case ReduceOp::All: acc.value = acc.value && (x != A(0)); break;
    case ReduceOp::Any: acc.value = acc.value || (x != A(0)); break;
    case ReduceOp::Max:
      if (is_nan_value<T>(acc.value)) break;  // first NaN wins
      if (acc.index < 0 || x > acc.value || is_nan_value<T>(x)) { acc.value = x; acc.index = pos; }
      break;
    case ReduceOp::Min:
      if (is_nan_value<T>(acc.value)) break;
      if (acc.index < 0 || x < acc.value || is_nan_value<T>(x)) { acc.value = x; acc.index = pos; }
      break;
  }
}

// Combines a later chunk's partial result into an earlier one.
template <typename T>
inline void combine(ReduceOp op, Acc<T>& acc, const Acc<T>& later) {
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && later.index < 0) return;
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && acc.index < 0) { acc = later; return; }
  fold<T>(op, acc, later.value, later.index);
}

// Reduces the flat reduced positions [r0, r1) of one output starting at `base`.
template <typename T>
void reduce_range(const ReduceArgs& a, const char* base, int64_t r0, int64_t r1, Acc<T>& acc) {
  using A = acc_t<T>;
  const int nr = a.nred;
  if (r0 >= r1) return;  // empty reduction: acc keeps the identity
  if (nr == 0) {
    if (r0 < r1) fold<T>(a.op, acc, static_cast<A>(*reinterpret_cast<const T*>(base)), 0);
    return;
  }
  int64_t idx[kMaxDims];
  int64_t rem = r0;
  for (int d = nr - 1; d >= 0; --d) {
    idx[d] = rem % a.red_sizes[d];
    rem /= a.red_sizes[d];
  }
  const int64_t inner_stride = a.in_red_strides[nr - 1];
  int64_t pos = r0;
  while (pos < r1) {
    const char* p = base;
    for (int d = 0; d < nr; ++d) p += idx[d] * a.in_red_strides[d];
    const int64_t count = std::min(a.red_sizes[nr - 1] - idx[nr - 1], r1 - pos);
    if (a.op == ReduceOp::Sum && inner_stride == sizeof(T)) {
      const T* x = reinterpret_cast<const T*>(p);
      A s = A(0);
      if constexpr (std::is_integral_v<A>) {
        uint64_t u = 0;
        for (int64_t i = 0; i < count; ++i) u += static_cast<uint64_t>(static_cast<A>(x[i]));
        s = static_cast<A>(u);
      } else {
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < count; ++i) s += static_cast<A>(x[i]);
      }
      fold<T>(a.op, acc, s, pos);
    } else {
      for (int64_t i = 0; i < count; ++i) {
        fold<T>(a.op, acc, static_cast<A>(*reinterpret_cast<const T*>(p + i * inner_stride)), pos + i);
      }
    }
    pos += count;
    idx[nr - 1] += count;
    for (int d = nr - 1; d > 0 && idx[d] == a.red_sizes[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

template <typename T>
void store(const ReduceArgs& a, int64_t out_linear, const Acc<T>& acc) {
  int64_t out_off = 0, idx_off = 0, rem = out_linear;
  for (int d = a.nkeep - 1; d >= 0; --d) {
    const int64_t i = rem % a.keep_sizes[d];
    rem /= a.keep_sizes[d];
    out_off += i * a.out_strides[d];
    idx_off += i * a.idx_strides[d];
  }
  visit_dtype(a.out_dtype, [&](auto tag) {
    using O = typename decltype(tag)::type;
    *reinterpret_cast<O*>(a.out + out_off) = convert<O>(acc.value);
  });
  if (a.indices) *reinterpret_cast<int64_t*>(a.indices + idx_off) = acc.index < 0 ? 0 : acc.index;
}

const char* input_base(const ReduceArgs& a, int64_t out_linear) {
  const char* p = a.in;
  int64_t rem = out_linear;
  for (int d = a.nkeep - 1; d >= 0; --d) {
    p += (rem % a.keep_sizes[d]) * a.in_keep_strides[d];
    rem /= a.keep_sizes[d];
  }
  return p;
}

// Sums whose kept innermost dim is contiguous while the reduced dims are not (column sums
// of a matrix: bias gradients). A tile of adjacent outputs is accumulated together, one
// contiguous run per reduced position, instead of one strided walk per output. Each output
// still adds its elements in row-major order of the reduced dims, starting from 0: the same
// bits as the per-output loop. Returns false when the layout does not fit.
template <typename T>
bool sum_by_rows(const ReduceArgs& a, int64_t num_out, int64_t num_red) {
  if constexpr (!is_floating_v<T>) {
    return false;
  } else {
    using A = acc_t<T>;
    if (a.op != ReduceOp::Sum || a.indices || a.nkeep == 0 || a.nred == 0) return false;
    if (a.in_keep_strides[a.nkeep - 1] != static_cast<int64_t>(sizeof(T))) return false;
    if (a.in_red_strides[a.nred - 1] == static_cast<int64_t>(sizeof(T))) return false;  // the simd path
    constexpr int64_t kTile = 256;
    const int64_t row = a.keep_sizes[a.nkeep - 1];
    const int64_t tiles_per_row = (row + kTile - 1) / kTile;
    const int64_t tasks = (num_out / row) * tiles_per_row;
    const int64_t grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, num_red * std::min(row, kTile)));
    parallel_for(0, tasks, grain, [&](int64_t t0, int64_t t1) {
      A acc[kTile];
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t j0 = (t % tiles_per_row) * kTile;
        const int64_t n = std::min(kTile, row - j0);
        const int64_t first = (t / tiles_per_row) * row + j0;
        const char* base = input_base(a, first);
        for (int64_t j = 0; j < n; ++j) acc[j] = A(0);
        int64_t idx[kMaxDims] = {};
        for (int64_t r = 0; r < num_red; ++r) {
          const char* p = base;
          for (int d = 0; d < a.nred; ++d) p += idx[d] * a.in_red_strides[d];
          const T* x = reinterpret_cast<const T*>(p);
#pragma omp simd
          for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<A>(x[j]);
          for (int d = a.nred - 1; d >= 0 && ++idx[d] == a.red_sizes[d]; --d) idx[d] = 0;
        }
        for (int64_t j = 0; j < n; ++j) store<T>(a, first + j, Acc<T>{acc[j]});
      }
    });
    return true;
  }
}

template <typename T>
void reduce_typed(const ReduceArgs& a) {
  int64_t num_out = 1, num_red = 1;
  for (int d = 0; d < a.nkeep; ++d) num_out *= a.keep_sizes[d];
  for (int d = 0; d < a.nred; ++d) num_red *= a.red_sizes[d];
  if (num_out == 0) return;

  if (num_out < 16 && num_red > kChunk) {
    const int64_t chunks = (num_red + kChunk - 1) / kChunk;
    std::vector<Acc<T>> partial(static_cast<size_t>(chunks));
    for (int64_t o = 0; o < num_out; ++o) {
      const char* base = input_base(a, o);
      parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          Acc<T> acc = identity<T>(a.op);
          reduce_range<T>(a, base, c * kChunk, std::min(num_red, (c + 1) * kChunk), acc);
          partial[static_cast<size_t>(c)] = acc;
        }
      });
      Acc<T> total = partial[0];
      for (int64_t c = 1; c < chunks; ++c) combine<T>(a.op, total, partial[static_cast<size_t>(c)]);
      store<T>(a, o, total);
    }
    return;
  }
  if (sum_by_rows<T>(a, num_out, num_red)) return;
  const int64_t grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, num_red));
  parallel_for(0, num_out, grain, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      Acc<T> acc = identity<T>(a.op);
      reduce_range<T>(a, input_base(a, o), 0, num_red, acc);
      store<T>(a, o, acc);
    }
  });
}

}  // namespace

void reduce(const ReduceArgs& args) {
  visit_dtype(args.in_dtype, [&](auto tag) { reduce_typed<typename decltype(tag)::type>(args); });
}

}  // namespace fulgur::kernels::cpu
