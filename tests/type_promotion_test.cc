// Type promotion against PyTorch: promote_types, can_cast, result_type and the dtypes that
// add / div / eq / add_ / exp / sum / mean return. The expectations come from
// tests/golden/promotion_golden.inc, written by tools/gen_promotion_golden.py
// (Debian's PyTorch 1.13: /usr/bin/python3 tools/gen_promotion_golden.py).
#include <cmath>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "fulgur/tensor/type_promotion.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using fulgur::testing::all_dtypes;
using fulgur::testing::error_message;

namespace {

struct PromoteCase {
  const char* a;
  const char* b;
  const char* result;
};

struct OpCase {
  const char* op;
  const char* x;
  const char* y;
  const char* result;  // a dtype name or "error"
  const char* note;
};

#include "tests/golden/promotion_golden.inc"

DType parse_dtype(std::string_view name) {
  for (DType d : all_dtypes()) {
    if (dtype_name(d) == name) return d;
  }
  FAIL("unknown dtype name in the golden file: ", std::string(name));
  return DType::Float32;
}

// An operand spec of the golden file: "t1:<dtype>" (1-D tensor of ones, 3 elements),
// "t0:<dtype>" (0-dim tensor, built with full({}, ...)), or a number "int" (2),
// "float" (2.5), "bool" (true), the generator's Python scalars.
struct Operand {
  std::optional<Tensor> tensor;
  std::optional<Scalar> scalar;

  explicit Operand(std::string_view spec) {
    if (spec == "int") {
      scalar = Scalar(int64_t{2});
    } else if (spec == "float") {
      scalar = Scalar(2.5);
    } else if (spec == "bool") {
      scalar = Scalar(true);
    } else {
      REQUIRE(spec.size() > 3);
      const DType dtype = parse_dtype(spec.substr(3));
      if (spec.substr(0, 3) == "t1:") {
        tensor = ones({3}, {.dtype = dtype});
      } else {
        REQUIRE(spec.substr(0, 3) == "t0:");
        tensor = full({}, 1, {.dtype = dtype});
      }
    }
  }

  TensorOrScalar arg() const {
    if (tensor) return &*tensor;
    return *scalar;
  }
};

// Runs one op of the golden file; returns the result's dtype (throws what the op throws).
DType run_op(std::string_view op, const Operand& x, const std::optional<Operand>& y) {
  REQUIRE(x.tensor);
  const Tensor& a = *x.tensor;
  auto binary = [&](auto with_tensor, auto with_scalar) {
    REQUIRE(y);
    return y->tensor ? with_tensor(*y->tensor) : with_scalar(*y->scalar);
  };
  if (op == "add") {
    return binary([&](const Tensor& b) { return a.add(b); }, [&](const Scalar& s) { return a.add(s); }).dtype();
  }
  if (op == "div") {
    return binary([&](const Tensor& b) { return a.div(b); }, [&](const Scalar& s) { return a.div(s); }).dtype();
  }
  if (op == "eq") {
    return binary([&](const Tensor& b) { return a.eq(b); }, [&](const Scalar& s) { return a.eq(s); }).dtype();
  }
  if (op == "add_") {
    Tensor self = a.clone();
    Tensor* r = binary([&](const Tensor& b) { return &self.add_(b); }, [&](const Scalar& s) { return &self.add_(s); });
    CHECK(r == &self);
    CHECK(self.dtype() == a.dtype());
    return r->dtype();
  }
  if (op == "exp") return a.exp().dtype();
  if (op == "sum") return a.sum().dtype();
  if (op == "mean") return a.mean().dtype();
  FAIL("unknown op in the golden file: ", std::string(op));
  return DType::Float32;
}

}  // namespace

TEST_CASE("promotion: golden tables are complete") {
  CHECK(std::size(kPromoteTypes) == 100);
  CHECK(std::size(kCanCast) == 100);
  CHECK(std::size(kResultType) >= 400);
  CHECK(std::size(kOps) >= 500);
}

TEST_CASE("promotion: promote_types matches torch.promote_types") {
  for (const PromoteCase& c : kPromoteTypes) {
    INFO(c.a, " with ", c.b);
    const DType a = parse_dtype(c.a), b = parse_dtype(c.b);
    CHECK(dtype_name(promote_types(a, b)) == std::string_view(c.result));
  }
}

TEST_CASE("promotion: can_cast matches torch.can_cast") {
  for (const PromoteCase& c : kCanCast) {
    INFO(c.a, " to ", c.b);
    CHECK(can_cast(parse_dtype(c.a), parse_dtype(c.b)) == (std::string_view(c.result) == "true"));
  }
}

TEST_CASE("promotion: result_type matches torch.result_type") {
  for (const PromoteCase& c : kResultType) {
    INFO(c.a, " with ", c.b);
    const Operand x(c.a), y(c.b);
    CHECK(dtype_name(result_type({x.arg(), y.arg()})) == std::string_view(c.result));
    // The two-argument overloads agree with the list form.
    if (x.tensor && y.tensor) CHECK(dtype_name(result_type(*x.tensor, *y.tensor)) == std::string_view(c.result));
    if (x.tensor && y.scalar) CHECK(dtype_name(result_type(*x.tensor, *y.scalar)) == std::string_view(c.result));
  }
}

TEST_CASE("promotion: result dtypes of add, div, eq, add_, exp, sum, mean match PyTorch") {
  for (const OpCase& c : kOps) {
    INFO(c.op, "(", c.x, ", ", c.y, ") -> ", c.result, "  ", c.note);
    const Operand x(c.x);
    std::optional<Operand> y;
    if (*c.y) y.emplace(c.y);
    const std::string_view expected(c.result);
    if (expected == "error") {
      const std::string msg = error_message([&] { run_op(c.op, x, y); });
      CHECK_MESSAGE(!msg.empty(), "PyTorch raises but Fulgur does not");
      if (std::string_view(c.op) == "add_") CHECK(msg.find("can't be cast") != std::string::npos);
    } else {
      std::optional<DType> got;
      const std::string msg = error_message([&] { got = run_op(c.op, x, y); });
      CHECK_MESSAGE(msg.empty(), "Fulgur throws: ", msg);
      if (got) CHECK(dtype_name(*got) == expected);
    }
  }
}

TEST_CASE("promotion: the documented examples") {
  const Tensor i32 = ones({2}, {.dtype = kInt32});
  const Tensor f16 = ones({2}, {.dtype = kFloat16});
  const Tensor f64_0d = full({}, 1.0, {.dtype = kFloat64});
  CHECK(result_type(i32, Scalar(5)) == kInt32);
  CHECK(result_type(i32, Scalar(2.5)) == kFloat32);
  CHECK(result_type(f16, f64_0d) == kFloat16);
  CHECK((i32 + 5).dtype() == kInt32);
  CHECK((i32 + 2.5).dtype() == kFloat32);
  CHECK((f16 + f64_0d).dtype() == kFloat16);
  // A 0-dim tensor of a higher category counts with its own dtype, a number with the
  // default dtype.
  CHECK(result_type(i32, full({}, 1.0, {.dtype = kFloat64})) == kFloat64);
  CHECK(result_type(i32, Scalar(1.0)) == kFloat32);
}

TEST_CASE("promotion: in-place ops keep the tensor's dtype or throw") {
  SUBCASE("int tensor += 1.5 throws") {
    Tensor t = arange(3, {.dtype = kInt64});
    const std::string msg = error_message([&] { t.add_(1.5); });
    CHECK(msg.find("can't be cast") != std::string::npos);
    CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2});  // left untouched
    const std::string msg2 = error_message([&] { t += 1.5; });
    CHECK(msg2.find("can't be cast") != std::string::npos);
  }
  SUBCASE("int tensor += float tensor throws") {
    Tensor t = ones({3}, {.dtype = kInt32});
    const std::string msg = error_message([&] { t.add_(ones({3}, {.dtype = kFloat32})); });
    CHECK(msg.find("can't be cast") != std::string::npos);
  }
  SUBCASE("bool tensor += int throws") {
    Tensor t = ones({3}, {.dtype = kBool});
    CHECK(error_message([&] { t.add_(2); }).find("can't be cast") != std::string::npos);
  }
  SUBCASE("float16 tensor += float32 tensor stays float16") {
    Tensor t = full({3}, 1.5, {.dtype = kFloat16});
    const Tensor other = from_vector(std::vector<float>{0.25f, -1.0f, 2.0f});
    Tensor& r = t.add_(other);
    CHECK(&r == &t);
    CHECK(t.dtype() == kFloat16);
    CHECK(testing::values(t) == std::vector<double>{1.75, 0.5, 3.5});
  }
  SUBCASE("int tensor += int64 number and int tensor stays int") {
    Tensor t = ones({3}, {.dtype = kInt8});
    t.add_(3);
    t.add_(ones({3}, {.dtype = kInt64}));
    CHECK(t.dtype() == kInt8);
    CHECK(testing::values(t) == std::vector<double>{5, 5, 5});
  }
  SUBCASE("float tensor += float64 0-dim tensor stays float32") {
    Tensor t = ones({2});
    t.add_(full({}, 0.5, {.dtype = kFloat64}));
    CHECK(t.dtype() == kFloat32);
    CHECK(testing::values(t) == std::vector<double>{1.5, 1.5});
  }
}

TEST_CASE("Scalar: a float's integer view saturates and maps NaN to 0 (no undefined cast)") {
  using fulgur::Scalar;
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(Scalar(1e300).to_int64() == INT64_MAX);
  CHECK(Scalar(-1e300).to_int64() == INT64_MIN);
  CHECK(Scalar(inf).to_int64() == INT64_MAX);
  CHECK(Scalar(-inf).to_int64() == INT64_MIN);
  CHECK(Scalar(std::nan("")).to_int64() == 0);
  CHECK(Scalar(1.1e24f).to_int64() == INT64_MAX);
  // In range it truncates toward zero, as a C++ cast and torch's int() do.
  CHECK(Scalar(-2.7).to_int64() == -2);
  CHECK(Scalar(9.2e18).to_int64() == static_cast<int64_t>(9.2e18));
  CHECK(Scalar(-9223372036854775808.0).to_int64() == INT64_MIN);
  // The double value itself is kept exactly.
  CHECK(Scalar(1e300).to_double() == 1e300);
  CHECK(std::isnan(Scalar(std::nan("")).to_double()));
}
