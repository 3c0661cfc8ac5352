// Factory functions.
#include <cmath>

#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

DType dtype_or_default(const TensorOptions& o) { return o.dtype.value_or(DType::Float32); }

Tensor run_sequence(kernels::SequenceArgs& a, int64_t n, DType dtype, Device device, const char* op) {
  Tensor out = make_tensor({n}, dtype, device);
  a.dtype = dtype;
  a.out = static_cast<char*>(out.data_ptr());
  a.numel = n;
  if (n > 0) internal::table(out, op).sequence(a);
  return out;
}

}  // namespace

Tensor empty(IntArrayRef sizes, TensorOptions o) { return make_tensor(sizes, dtype_or_default(o), o.device); }

Tensor zeros(IntArrayRef sizes, TensorOptions o) {
  Tensor t = empty(sizes, o);
  t.fill_(0);
  return t;
}

Tensor ones(IntArrayRef sizes, TensorOptions o) {
  Tensor t = empty(sizes, o);
  t.fill_(1);
  return t;
}

Tensor full(IntArrayRef sizes, const Scalar& value, TensorOptions o) {
  Tensor t = make_tensor(sizes, o.dtype.value_or(value.default_dtype()), o.device);
  t.fill_(value);
  return t;
}

Tensor scalar_tensor(const Scalar& value, TensorOptions o) { return full({}, value, o); }

Tensor arange(const Scalar& end, TensorOptions o) { return arange(0, end, 1, o); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions o) {
  const bool all_int = !start.is_floating() && !end.is_floating() && !step.is_floating();
  const DType dtype = o.dtype.value_or(all_int ? DType::Int64 : DType::Float32);
  kernels::SequenceArgs a;
  int64_t n = 0;
  if (all_int) {
    const int64_t s = start.to_int64(), e = end.to_int64(), st = step.to_int64();
    FULGUR_CHECK(st != 0, "arange", "step must be nonzero");
    FULGUR_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), "arange", "upper bound (", e,
                 ") and lower bound (", s, ") inconsistent with step sign (", st, ")");
    n = st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st;
    a.integral = true;
    a.start_int = s;
    a.step_int = st;
  } else {
    const double s = start.to_double(), e = end.to_double(), st = step.to_double();
    FULGUR_CHECK(st != 0 && std::isfinite(s) && std::isfinite(e), "arange",
                 "start, end must be finite and step nonzero, got ", s, ", ", e, ", ", st);
    FULGUR_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), "arange", "upper bound (", e,
                 ") and lower bound (", s, ") inconsistent with step sign (", st, ")");
    n = static_cast<int64_t>(std::ceil((e - s) / st));
    a.start = s;
    a.step = st;
  }
  return run_sequence(a, n, dtype, o.device, "arange");
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions o) {
  FULGUR_CHECK(steps >= 0, "linspace", "number of steps must be non-negative, got ", steps);
  kernels::SequenceArgs a;
  a.linspace = true;
  a.start = start;
  a.end = end;
  return run_sequence(a, steps, dtype_or_default(o), o.device, "linspace");
}

Tensor eye(int64_t n, std::optional<int64_t> m_opt, TensorOptions o) {
  const int64_t m = m_opt.value_or(n);
  FULGUR_CHECK(n >= 0 && m >= 0, "eye", "n and m must be non-negative, got ", n, " and ", m);
  Tensor t = zeros({n, m}, o);
  const int64_t diag = std::min(n, m);
  if (diag > 0) t.as_strided({diag}, {m + 1}, 0).fill_(1);
  return t;
}

Tensor empty_like(const Tensor& like, std::optional<DType> dtype) {
  return make_tensor(like.sizes(), dtype.value_or(like.dtype()), like.device());
}
Tensor zeros_like(const Tensor& like, std::optional<DType> dtype) {
  Tensor t = empty_like(like, dtype);
  t.fill_(0);
  return t;
}
Tensor ones_like(const Tensor& like, std::optional<DType> dtype) {
  Tensor t = empty_like(like, dtype);
  t.fill_(1);
  return t;
}
Tensor full_like(const Tensor& like, const Scalar& value, std::optional<DType> dtype) {
  Tensor t = empty_like(like, dtype);
  t.fill_(value);
  return t;
}

Tensor from_blob(void* data, IntArrayRef sizes, DType dtype, std::optional<Shape> strides,
                 std::function<void(void*)> deleter, Device device) {
  const Shape st = strides ? *strides : contiguous_strides(sizes);
  FULGUR_CHECK(st.size() == sizes.size(), "from_blob", "sizes ", shape_str(sizes), " and strides ",
               shape_str(st), " differ in length");
  int64_t extent = 0;
  bool empty = false;
  for (size_t i = 0; i < sizes.size(); ++i) {
    FULGUR_CHECK(sizes[i] >= 0 && st[i] >= 0, "from_blob", "negative size or stride: sizes ",
                 shape_str(sizes), ", strides ", shape_str(st));
    if (sizes[i] == 0) empty = true;
    extent += (sizes[i] - 1) * st[i];
  }
  const size_t nbytes = empty ? 0 : static_cast<size_t>(extent + 1) * element_size(dtype);
  FULGUR_CHECK(data != nullptr || nbytes == 0, "from_blob", "null data pointer for a non-empty tensor");
  auto storage = std::make_shared<StorageImpl>(data, nbytes, device, std::move(deleter));
  return make_view(storage, sizes, st, 0, dtype);
}

}  // namespace fulgur
