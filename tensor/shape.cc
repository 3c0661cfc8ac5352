#include "fulgur/tensor/shape.h"

#include <algorithm>

#include "fulgur/kernels/error.h"

namespace fulgur {

// Sizes come from files and models too (an ONNX Tile's repeats, a reader's header): the
// products are checked, since a wrapped count would pass every later bounds check.
int64_t numel_of(IntArrayRef sizes) {
  // One pass on the hot path (every Tensor::numel()); the zero scan only after an overflow.
  int64_t n = 1;
  bool overflow = false;
  for (int64_t s : sizes) overflow |= __builtin_mul_overflow(n, s, &n);
  if (!overflow) return n;
  if (std::find(sizes.begin(), sizes.end(), int64_t{0}) != sizes.end()) return 0;  // empty, however large the rest
  throw Error(detail::str_cat("shape ", shape_str(sizes),
                              ": the number of elements overflows int64; hint: the sizes are too large (corrupt "
                              "input or a runaway computation)"));
}

Shape contiguous_strides(IntArrayRef sizes) {
  Shape strides(sizes.size());
  int64_t acc = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = acc;
    // Zero-size dimensions count as 1, as PyTorch's strides do; the outermost product is unused.
    if (i > 0 && __builtin_mul_overflow(acc, std::max<int64_t>(sizes[i], 1), &acc)) {
      throw Error(detail::str_cat("shape ", shape_str(sizes),
                          ": contiguous strides overflow int64; hint: the sizes are too large"));
    }
  }
  return strides;
}

Shape broadcast_shapes(IntArrayRef a, IntArrayRef b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    FULGUR_CHECK(da == db || da == 1 || db == 1, op, "shapes ", shape_str(a), " and ",
                 shape_str(b), " cannot be broadcast: size ", da, " vs ", db,
                 " at dimension ", i, " (aligned from the right); hint: sizes must match or be 1");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t lo = ndim == 0 ? -1 : -ndim;
  const int64_t hi = ndim == 0 ? 0 : ndim - 1;
  FULGUR_CHECK(dim >= lo && dim <= hi, op, "dimension out of range (expected to be in range of [",
               lo, ", ", hi, "], but got ", dim, ")");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

std::string shape_str(IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(sizes[i]);
  }
  return s + "]";
}

}  // namespace fulgur
