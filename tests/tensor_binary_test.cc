// Binary element-wise ops (add, sub, mul, div, pow, minimum, maximum, comparisons, logical
// ops) against a double reference computed from the raw input memory (testing::get), on
// every dtype, on 0-dim / zero-size / 1-D..4-D shapes, broadcast operands and all three
// layouts; type promotion against tables printed by PyTorch 1.13; numbers as operands,
// alpha, integer wrap-around, NaN rules, in-place forms (views, overlap, expanded
// tensors, casting) and error messages.
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

constexpr DType B = kBool, U8 = kUInt8, I8 = kInt8, I16 = kInt16, I32 = kInt32, I64 = kInt64,
                F16 = kFloat16, BF16 = kBFloat16, F32 = kFloat32, F64 = kFloat64;

// torch.result_type(tensor of row dtype with dim > 0, 0-dim tensor of column dtype).
constexpr DType kPromoteZeroDim[10][10] = {
    {B, U8, I8, I16, I32, I64, F16, BF16, F32, F64},
    {U8, U8, U8, U8, U8, U8, F16, BF16, F32, F64},
    {I8, I8, I8, I8, I8, I8, F16, BF16, F32, F64},
    {I16, I16, I16, I16, I16, I16, F16, BF16, F32, F64},
    {I32, I32, I32, I32, I32, I32, F16, BF16, F32, F64},
    {I64, I64, I64, I64, I64, I64, F16, BF16, F32, F64},
    {F16, F16, F16, F16, F16, F16, F16, F16, F16, F16},
    {BF16, BF16, BF16, BF16, BF16, BF16, BF16, BF16, BF16, BF16},
    {F32, F32, F32, F32, F32, F32, F32, F32, F32, F32},
    {F64, F64, F64, F64, F64, F64, F64, F64, F64, F64},
};
// torch.result_type(tensor, 2), (tensor, 2.5), (tensor, True).
constexpr DType kWithInt[10] = {I64, U8, I8, I16, I32, I64, F16, BF16, F32, F64};
constexpr DType kWithFloat[10] = {F32, F32, F32, F32, F32, F32, F16, BF16, F32, F64};
constexpr DType kWithBool[10] = {B, U8, I8, I16, I32, I64, F16, BF16, F32, F64};

DType promote(DType a, DType b) { return testing::reference_promote(a, b); }
DType true_div_dtype(DType d) { return is_floating(d) ? d : F32; }

// Raw int64 element (doubles cannot hold every int64).
int64_t get_i64(const Tensor& t, const std::vector<int64_t>& idx) {
  REQUIRE(t.dtype() == I64);
  int64_t v;
  std::memcpy(&v, testing::element_address(t, idx), sizeof v);
  return v;
}
void set_i64(const Tensor& t, const std::vector<int64_t>& idx, int64_t v) {
  REQUIRE(t.dtype() == I64);
  std::memcpy(testing::element_address(t, idx), &v, sizeof v);
}

Shape ref_broadcast(IntArrayRef a, IntArrayRef b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    REQUIRE((da == db || da == 1 || db == 1));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

enum class Op { Add, Sub, Mul, Div, Pow, Minimum, Maximum, Eq, Ne, Lt, Le, Gt, Ge, And, Or, Xor };

uint64_t int_pow_ref(int64_t base, int64_t e) {
  if (e < 0) {  // PyTorch: 1 / base^|e| truncated toward zero
    if (base == 1) return 1;
    if (base == -1) return e % 2 == 0 ? 1 : static_cast<uint64_t>(int64_t{-1});
    return 0;
  }
  uint64_t r = 1;
  for (int64_t i = 0; i < e; ++i) r *= static_cast<uint64_t>(base);
  return r;
}

double nan_min(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  return std::min(a, b);
}
double nan_max(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  return std::max(a, b);
}

// op(a, alpha * b) for a and b already converted to `compute`; the result in compute (bool
// for comparisons and logical ops).
double ref_binary(Op op, double a, double b, DType compute, double alpha = 1) {
  switch (op) {
    case Op::Eq: return a == b;
    case Op::Ne: return a != b;
    case Op::Lt: return a < b;
    case Op::Le: return a <= b;
    case Op::Gt: return a > b;
    case Op::Ge: return a >= b;
    case Op::And: return a != 0 && b != 0;
    case Op::Or: return a != 0 || b != 0;
    case Op::Xor: return (a != 0) != (b != 0);
    default: break;
  }
  if (compute == kBool) {
    switch (op) {
      case Op::Add: return a != 0 || (b != 0 && alpha != 0);
      case Op::Mul: return a != 0 && b != 0;
      case Op::Minimum: return std::min(a, b);
      case Op::Maximum: return std::max(a, b);
      default: FAIL("no bool reference for this op"); return 0;
    }
  }
  if (!is_floating(compute)) {
    const uint64_t ua = static_cast<uint64_t>(static_cast<int64_t>(a));
    const uint64_t ub = static_cast<uint64_t>(static_cast<int64_t>(b));
    const uint64_t ual = static_cast<uint64_t>(static_cast<int64_t>(alpha));
    switch (op) {
      case Op::Add: return wrap_to(compute, ua + ual * ub);
      case Op::Sub: return wrap_to(compute, ua - ual * ub);
      case Op::Mul: return wrap_to(compute, ua * ub);
      case Op::Pow: return wrap_to(compute, int_pow_ref(static_cast<int64_t>(a), static_cast<int64_t>(b)));
      case Op::Minimum: return std::min(a, b);
      case Op::Maximum: return std::max(a, b);
      default: FAIL("no integer reference for this op"); return 0;
    }
  }
  double r = 0;
  switch (op) {
    case Op::Add: r = a + alpha * b; break;
    case Op::Sub: r = a - alpha * b; break;
    case Op::Mul: r = a * b; break;
    case Op::Div: r = a / b; break;
    case Op::Pow: r = std::pow(a, b); break;
    case Op::Minimum: r = nan_min(a, b); break;
    case Op::Maximum: r = nan_max(a, b); break;
    default: FAIL("unreachable");
  }
  return round_to(compute, r);
}

bool is_bool_op(Op op) { return op >= Op::Eq; }

// Checks out == op(a, alpha * b) element-wise: inputs converted to `compute`, the result
// must have dtype `expected`.
void check_binary(Op op, const Tensor& out, const Tensor& a, const Tensor& b, DType compute,
                  DType expected, const std::string& what, double alpha = 1) {
  INFO(what, " | a=", describe(a), " b=", describe(b));
  REQUIRE(out.defined());
  CHECK_MESSAGE(out.dtype() == expected, "dtype ", dtype_name(out.dtype()), " expected ",
                dtype_name(expected));
  if (out.dtype() != expected) return;
  const Shape shape = ref_broadcast(a.sizes(), b.sizes());
  std::vector<double> want;
  testing::for_each_index(shape, [&](const std::vector<int64_t>& idx) {
    const double x = round_to(compute, get(a, source_index(a, idx)));
    const double y = round_to(compute, get(b, source_index(b, idx)));
    want.push_back(ref_binary(op, x, y, compute, alpha));
  });
  check_close(out, shape, want, tolerance(is_bool_op(op) ? kBool : compute), what);
}

struct BinaryCase {
  Op op;
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> fn;
};

const std::vector<BinaryCase>& binary_cases() {
  static const std::vector<BinaryCase> cases = {
      {Op::Add, "add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {Op::Sub, "sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {Op::Mul, "mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {Op::Div, "div", [](const Tensor& a, const Tensor& b) { return a / b; }},
      {Op::Pow, "pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
      {Op::Minimum, "minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {Op::Maximum, "maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {Op::Eq, "eq", [](const Tensor& a, const Tensor& b) { return a == b; }},
      {Op::Ne, "ne", [](const Tensor& a, const Tensor& b) { return a != b; }},
      {Op::Lt, "lt", [](const Tensor& a, const Tensor& b) { return a < b; }},
      {Op::Le, "le", [](const Tensor& a, const Tensor& b) { return a <= b; }},
      {Op::Gt, "gt", [](const Tensor& a, const Tensor& b) { return a > b; }},
      {Op::Ge, "ge", [](const Tensor& a, const Tensor& b) { return a >= b; }},
      {Op::And, "logical_and", [](const Tensor& a, const Tensor& b) { return logical_and(a, b); }},
      {Op::Or, "logical_or", [](const Tensor& a, const Tensor& b) { return a || b; }},
      {Op::Xor, "logical_xor", [](const Tensor& a, const Tensor& b) { return logical_xor(a, b); }},
  };
  return cases;
}

// The dtype an op on operands of promoted dtype `p` computes in, and its result dtype.
DType compute_dtype(Op op, DType p) { return op == Op::Div ? true_div_dtype(p) : p; }
DType result_dtype(Op op, DType p) { return is_bool_op(op) ? kBool : compute_dtype(op, p); }
bool supports(Op op, DType d) {
  if (op == Op::Sub) return d != kBool;
  if (op == Op::Pow) return d != kBool;
  return true;
}

}  // namespace

TEST_CASE("binary ops match a double reference on every dtype, shape, broadcast and layout") {
  std::mt19937 rng(1234);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{}, {}},           {{0, 3}, {0, 3}},       {{2, 0, 4}, {2, 0, 4}}, {{7}, {7}},
      {{3, 5}, {3, 5}},   {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 2, 2}, {2, 3, 2, 2}},
      {{3, 1, 4}, {5, 4}}, {{2, 3}, {}},          {{}, {4}},              {{4, 1}, {1, 5}},
      {{0, 3}, {1, 3}},   {{2, 0, 4}, {4}},       {{1}, {2, 3}},          {{2, 1, 3, 1}, {3, 4}},
  };
  for (const BinaryCase& c : binary_cases()) {
    for (DType dt : testing::all_dtypes()) {
      if (!supports(c.op, dt)) continue;
      if (c.op == Op::Pow && !is_floating(dt)) continue;  // integer pow: see its own test
      for (const auto& [sa, sb] : shapes) {
        for (int li = 0; li < 3; ++li) {
          const Layout la = testing::all_layouts()[li], lb = testing::all_layouts()[(li + 1) % 3];
          // pow: positive bases keep the reference away from NaN-only results.
          const Tensor a = c.op == Op::Pow ? random_tensor(sa, dt, rng, la, 0.25, 2.0)
                                           : random_tensor(sa, dt, rng, la);
          const Tensor b = random_tensor(sb, dt, rng, lb);
          const std::string what = std::string(c.name) + " " + std::string(dtype_name(dt)) + " " +
                                   shape_str(sa) + " " + shape_str(sb) + " " + testing::layout_name(la) + "/" +
                                   testing::layout_name(lb);
          check_binary(c.op, c.fn(a, b), a, b, compute_dtype(c.op, dt), result_dtype(c.op, dt), what);
        }
      }
    }
  }
}

TEST_CASE("binary ops on mixed dtypes promote like torch.promote_types") {
  std::mt19937 rng(99);
  const std::vector<Op> ops = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Maximum, Op::Minimum,
                               Op::Lt,  Op::Eq,  Op::And};
  for (DType da : testing::all_dtypes()) {
    for (DType db : testing::all_dtypes()) {
      const Tensor a = random_tensor({3, 1, 4}, da, rng, Layout::Transposed);
      const Tensor b = random_tensor({5, 4}, db, rng, Layout::Strided);
      const DType p = promote(da, db);
      for (Op op : ops) {
        if (op == Op::Sub && (da == kBool || db == kBool)) continue;
        const BinaryCase& c = binary_cases()[static_cast<size_t>(op)];
        REQUIRE(c.op == op);
        const std::string what = std::string(c.name) + " " + std::string(dtype_name(da)) + " with " +
                                 std::string(dtype_name(db));
        check_binary(op, c.fn(a, b), a, b, compute_dtype(op, p), result_dtype(op, p), what);
        check_binary(op, c.fn(b, a), b, a, compute_dtype(op, p), result_dtype(op, p), what + " (swapped)");
      }
    }
  }
}

TEST_CASE("a 0-dim tensor only promotes a dimensioned operand from a higher category") {
  std::mt19937 rng(7);
  for (DType da : testing::all_dtypes()) {
    for (DType dz : testing::all_dtypes()) {
      const Tensor a = random_tensor({2, 3}, da, rng, Layout::Transposed);
      // Values that do not fit the lower dtype would expose a missing conversion.
      const Tensor z = random_tensor({}, dz, rng, Layout::Contiguous, -3.3, 3.3);
      const DType p = kPromoteZeroDim[static_cast<int>(da)][static_cast<int>(dz)];
      const std::string what = std::string(dtype_name(da)) + "[2,3] with 0-dim " + std::string(dtype_name(dz));
      check_binary(Op::Add, a + z, a, z, p, p, "add " + what);
      check_binary(Op::Add, z + a, z, a, p, p, "add (0-dim first) " + what);
      check_binary(Op::Mul, a * z, a, z, p, p, "mul " + what);
      check_binary(Op::Gt, a > z, a, z, p, kBool, "gt " + what);
      check_binary(Op::Div, z / a, z, a, true_div_dtype(p), true_div_dtype(p), "div " + what);
      // Two 0-dim tensors promote normally.
      const Tensor y = random_tensor({}, da, rng);
      const DType pz = promote(da, dz);
      check_binary(Op::Add, y + z, y, z, pz, pz, "add 0-dim " + what);
    }
  }
  // Spelled out: the classic cases.
  CHECK((ones({2}, {.dtype = F16}) + scalar_tensor(1.0, {.dtype = F64})).dtype() == F16);
  CHECK((ones({2}, {.dtype = I32}) + scalar_tensor(1.0, {.dtype = F64})).dtype() == F64);
  CHECK((ones({2}, {.dtype = I8}) + scalar_tensor(1, {.dtype = I64})).dtype() == I8);
  CHECK((ones({2}, {.dtype = B}) + scalar_tensor(1, {.dtype = I32})).dtype() == I32);
}

TEST_CASE("numbers as operands: on either side, with PyTorch's promotion") {
  std::mt19937 rng(5);
  for (DType dt : testing::all_dtypes()) {
    const int d = static_cast<int>(dt);
    const Tensor t = random_tensor({2, 3}, dt, rng, Layout::Transposed);
    const std::string n(dtype_name(dt));
    const Tensor two = number(2), two5 = number(2.5), one = number(1), half = number(0.5);
    check_binary(Op::Add, t + 2, t, two, kWithInt[d], kWithInt[d], "t + 2 " + n);
    check_binary(Op::Add, 2 + t, two, t, kWithInt[d], kWithInt[d], "2 + t " + n);
    check_binary(Op::Add, t.add(2.5), t, two5, kWithFloat[d], kWithFloat[d], "t + 2.5 " + n);
    check_binary(Op::Add, 2.5 + t, two5, t, kWithFloat[d], kWithFloat[d], "2.5 + t " + n);
    check_binary(Op::Add, t + true, t, one, kWithBool[d], kWithBool[d], "t + true " + n);
    check_binary(Op::Mul, t * 3, t, number(3), kWithInt[d], kWithInt[d], "t * 3 " + n);
    check_binary(Op::Mul, 3 * t, number(3), t, kWithInt[d], kWithInt[d], "3 * t " + n);
    check_binary(Op::Mul, t * 0.5, t, half, kWithFloat[d], kWithFloat[d], "t * 0.5 " + n);
    check_binary(Op::Div, t / 2, t, two, true_div_dtype(kWithInt[d]), true_div_dtype(kWithInt[d]), "t / 2 " + n);
    check_binary(Op::Div, 2 / t, two, t, true_div_dtype(kWithInt[d]), true_div_dtype(kWithInt[d]), "2 / t " + n);
    check_binary(Op::Div, t / 0.5, t, half, kWithFloat[d], kWithFloat[d], "t / 0.5 " + n);
    check_binary(Op::Lt, t < 1, t, one, kWithInt[d], kBool, "t < 1 " + n);
    check_binary(Op::Eq, t == 0, t, number(0), kWithInt[d], kBool, "t == 0 " + n);
    check_binary(Op::Ge, t >= 0.5, t, half, kWithFloat[d], kBool, "t >= 0.5 " + n);
    check_binary(Op::Ne, t != 1.5, t, number(1.5), kWithFloat[d], kBool, "t != 1.5 " + n);
    check_binary(Op::Gt, t.gt(-1), t, number(-1), kWithInt[d], kBool, "t > -1 " + n);
    check_binary(Op::Le, t.le(true), t, one, kWithBool[d], kBool, "t <= true " + n);
    if (dt != kBool) {
      check_binary(Op::Sub, 2 - t, two, t, kWithInt[d], kWithInt[d], "2 - t " + n);
      check_binary(Op::Sub, t - 2, t, two, kWithInt[d], kWithInt[d], "t - 2 " + n);
      check_binary(Op::Sub, t - 2.5, t, two5, kWithFloat[d], kWithFloat[d], "t - 2.5 " + n);
      check_binary(Op::Sub, 2.5 - t, two5, t, kWithFloat[d], kWithFloat[d], "2.5 - t " + n);
      check_binary(Op::Pow, t.pow(2), t, two, kWithInt[d], kWithInt[d], "t ** 2 " + n);
      check_binary(Op::Pow, t.pow(3), t, number(3), kWithInt[d], kWithInt[d], "t ** 3 " + n);
      check_binary(Op::Pow, pow(2, t.abs()), two, t.abs(), kWithInt[d], kWithInt[d], "2 ** |t| " + n);
      const Tensor pos = random_tensor({4}, dt, rng, Layout::Strided, 0.1, 2.0).abs();
      check_binary(Op::Pow, pos.pow(0.5), pos, half, kWithFloat[d], kWithFloat[d], "|t| ** 0.5 " + n);
      check_binary(Op::Pow, pow(2.5, t), two5, t, kWithFloat[d], kWithFloat[d], "2.5 ** t " + n);
    }
  }
  // Spelled out for the record.
  CHECK((arange(3) + 2.5).dtype() == F32);
  CHECK((arange(3).to(I8) + 300).dtype() == I8);
  CHECK((ones({2}, {.dtype = F16}) * 1e10).dtype() == F16);
}

TEST_CASE("add and sub with alpha") {
  std::mt19937 rng(11);
  for (DType dt : testing::all_dtypes()) {
    const std::string n(dtype_name(dt));
    const Tensor a = random_tensor({3, 1, 4}, dt, rng, Layout::Transposed);
    const Tensor b = random_tensor({5, 4}, dt, rng, Layout::Strided);
    if (is_floating(dt)) {
      check_binary(Op::Add, add(a, b, 2.5), a, b, dt, dt, "add alpha=2.5 " + n, 2.5);
      check_binary(Op::Sub, sub(a, b, -0.5), a, b, dt, dt, "sub alpha=-0.5 " + n, -0.5);
      check_binary(Op::Add, a.add(b, 3), a, b, dt, dt, "add alpha=3 " + n, 3);
    } else if (dt != kBool) {
      check_binary(Op::Add, add(a, b, 3), a, b, dt, dt, "add alpha=3 " + n, 3);
      check_binary(Op::Sub, a.sub(b, -2), a, b, dt, dt, "sub alpha=-2 " + n, -2);
      check_binary(Op::Add, add(a, b, 0), a, b, dt, dt, "add alpha=0 " + n, 0);
      // PyTorch: "For integral input tensors, argument alpha must not be a floating point number."
      const std::string msg = error_message([&] { (void)add(a, b, 2.5); });
      CHECK_MESSAGE(contains(msg, "alpha"), n, ": got '", msg, "'");
      CHECK(contains(error_message([&] { (void)a.sub(b, 0.5); }), "alpha"));
    } else {
      // bool + alpha * bool stays bool (alpha converted to bool), as in PyTorch.
      check_binary(Op::Add, add(a, b, 2), a, b, kBool, kBool, "bool add alpha=2", 2);
      check_binary(Op::Add, add(a, b, false), a, b, kBool, kBool, "bool add alpha=false", 0);
      CHECK(contains(error_message([&] { (void)add(a, b, 2.5); }), "alpha"));
    }
  }
  // Mixed: int tensor + alpha * float tensor computes in float.
  const Tensor i = tensor<int64_t>({1, 2, 3});
  const Tensor f = tensor<float>({0.5f, 1.f, 1.5f});
  check_binary(Op::Add, add(i, f, 2.5), i, f, F32, F32, "int + 2.5 * float", 2.5);
  // alpha * other is computed in the promoted dtype: int8 * 100 must not wrap in int8.
  const Tensor i8 = tensor<int8_t>({100, -100});
  check_binary(Op::Add, add(i, i8.narrow(0, 0, 1), 100), i, i8.narrow(0, 0, 1), I64, I64, "int64 + 100 * int8", 100);
  CHECK(values(add(tensor<int64_t>({1, 1}), i8, 100)) == std::vector<double>{10001, -9999});
  CHECK(values(sub(tensor<int32_t>({0}), tensor<int8_t>({64}), 4)) == std::vector<double>{-256});
  // A boolean alpha needs a bool result (PyTorch: "Boolean alpha only supported for Boolean results").
  CHECK(contains(error_message([&] { (void)add(i, i, true); }), "alpha"));
  // In place.
  Tensor x = tensor<float>({1.f, 2.f, 3.f});
  x.add_(tensor<float>({1.f, 1.f, 1.f}), 2);
  x.sub_(tensor<float>({0.5f, 0.5f, 0.5f}), 4);
  check_close(x, {3}, {1.0, 2.0, 3.0}, 0.0, "add_/sub_ with alpha");
}

TEST_CASE("integer arithmetic wraps around") {
  auto one_value = [](double v, DType dt) {
    Tensor t = empty({1}, {.dtype = dt});
    testing::set(t, {0}, v);
    return t;
  };
  CHECK(get(one_value(100, I8) + one_value(100, I8), {0}) == -56);
  CHECK(get(one_value(-100, I8) - one_value(100, I8), {0}) == 56);
  CHECK(get(one_value(16, I8) * one_value(16, I8), {0}) == 0);
  CHECK(get(one_value(0, U8) - 1, {0}) == 255);
  CHECK(get(one_value(200, U8) + one_value(100, U8), {0}) == 44);
  CHECK(get(one_value(3, U8) - one_value(4, U8), {0}) == 255);
  CHECK(get(one_value(30000, I16) + one_value(30000, I16), {0}) == -5536);
  CHECK(get(one_value(2147483647, I32) + 1, {0}) == -2147483648.0);
  CHECK(get(one_value(100, I8) + 300, {0}) == 144 - 256);  // number converted to int8: 44
  {
    Tensor big = empty({3}, {.dtype = I64});
    set_i64(big, {0}, std::numeric_limits<int64_t>::max());
    set_i64(big, {1}, std::numeric_limits<int64_t>::min());
    set_i64(big, {2}, int64_t{1} << 62);
    const Tensor p = big + 1, m = big - 1, q = big * 4;
    CHECK(get_i64(p, {0}) == std::numeric_limits<int64_t>::min());
    CHECK(get_i64(p, {1}) == std::numeric_limits<int64_t>::min() + 1);
    CHECK(get_i64(m, {1}) == std::numeric_limits<int64_t>::max());
    CHECK(get_i64(q, {2}) == 0);
    CHECK(get_i64(q, {0}) == -4);
  }
  // Random values over each integer type's whole range.
  std::mt19937 rng(3);
  for (DType dt : {U8, I8, I16, I32}) {
    const double lo = dt == U8 ? 0 : dt == I8 ? -128 : dt == I16 ? -32768 : -2147483648.0;
    const double hi = dt == U8 ? 255 : dt == I8 ? 127 : dt == I16 ? 32767 : 2147483647.0;
    std::uniform_int_distribution<int64_t> u(static_cast<int64_t>(lo), static_cast<int64_t>(hi));
    const Tensor a = empty({4, 5}, {.dtype = dt}).t();
    const Tensor b = empty({5, 4}, {.dtype = dt});
    testing::for_each_index(a.sizes(), [&](const std::vector<int64_t>& i) {
      testing::set(a, i, static_cast<double>(u(rng)));
      testing::set(b, i, static_cast<double>(u(rng)));
    });
    const std::string n(dtype_name(dt));
    check_binary(Op::Add, a + b, a, b, dt, dt, "full-range add " + n);
    check_binary(Op::Sub, a - b, a, b, dt, dt, "full-range sub " + n);
    check_binary(Op::Mul, a * b, a, b, dt, dt, "full-range mul " + n);
    check_binary(Op::Add, add(a, b, 7), a, b, dt, dt, "full-range add alpha=7 " + n, 7);
  }
  {
    std::uniform_int_distribution<int64_t> u(std::numeric_limits<int64_t>::min(),
                                             std::numeric_limits<int64_t>::max());
    const Tensor a = empty({6, 5}, {.dtype = I64}).t();
    const Tensor b = empty({5, 6}, {.dtype = I64});
    testing::for_each_index(a.sizes(), [&](const std::vector<int64_t>& i) {
      set_i64(a, i, u(rng));
      set_i64(b, i, u(rng));
    });
    const Tensor s = a + b, d = a - b, m = a * b;
    testing::for_each_index(a.sizes(), [&](const std::vector<int64_t>& i) {
      const uint64_t x = static_cast<uint64_t>(get_i64(a, i)), y = static_cast<uint64_t>(get_i64(b, i));
      CHECK(get_i64(s, i) == static_cast<int64_t>(x + y));
      CHECK(get_i64(d, i) == static_cast<int64_t>(x - y));
      CHECK(get_i64(m, i) == static_cast<int64_t>(x * y));
    });
  }
}

TEST_CASE("integer pow, true division and float pow special cases") {
  std::mt19937 rng(21);
  // Integer pow with random tensor exponents, negative ones included (PyTorch: 1 -> 1,
  // -1 -> +-1, anything else -> 0), wrapping on overflow.
  for (DType dt : {U8, I8, I16, I32, I64}) {
    const Tensor base = random_tensor({3, 4}, dt, rng, Layout::Transposed);
    const Tensor e = random_tensor({4}, dt, rng, Layout::Strided).abs();
    const Tensor en = random_tensor({3, 1}, dt, rng);
    const std::string n(dtype_name(dt));
    check_binary(Op::Pow, pow(base, e), base, e, dt, dt, "int pow " + n);
    check_binary(Op::Pow, pow(base, en), base, en, dt, dt, "int pow (signed exponents) " + n);
  }
  CHECK(values(pow(tensor<int64_t>({2, 3}), tensor<int64_t>({-1, -2}))) == std::vector<double>{0, 0});
  CHECK(values(pow(tensor<int64_t>({-1, 1, 2, -1}), tensor<int64_t>({-1, -2, 0, -4}))) ==
        std::vector<double>{-1, 1, 1, 1});
  CHECK(values(pow(tensor<int8_t>({3}), tensor<int8_t>({5}))) == std::vector<double>{-13});  // 243 wraps

  // True division of integers gives float32.
  const Tensor q = tensor<int32_t>({7, -7, 1, -1, 0, 6}) / tensor<int32_t>({2, 2, 0, 0, 0, 3});
  CHECK(q.dtype() == F32);
  check_close(q, {6}, {3.5, -3.5, INFINITY, -INFINITY, NAN, 2.0}, 0.0, "int / int");
  const Tensor q2 = 2 / tensor<int16_t>({4, 0});
  CHECK(q2.dtype() == F32);
  check_close(q2, {2}, {0.5, INFINITY}, 0.0, "2 / int");
  CHECK((tensor<bool>({true, false}) / tensor<bool>({true, true})).dtype() == F32);

  // Float pow: negative base with a fractional exponent is NaN, 0^-1 is inf.
  for (DType dt : testing::float_dtypes()) {
    const Tensor b = tensor<float>({-2.f, -2.f, 0.f, 4.f, NAN, 1.f}).to(dt);
    const Tensor e = tensor<float>({3.f, 0.5f, -1.f, 0.5f, 0.f, NAN}).to(dt);
    const Tensor r = pow(b, e);
    CHECK(r.dtype() == dt);
    // pow(nan, 0) == 1 and pow(1, nan) == 1, as std::pow and PyTorch.
    check_close(r, {6}, {-8.0, NAN, INFINITY, 2.0, 1.0, 1.0}, tolerance(dt), "float pow specials");
  }
  // Mixed: int base, float exponent tensor; float16 base, number exponent.
  CHECK(pow(tensor<int32_t>({4}), tensor<float>({0.5f})).dtype() == F32);
  CHECK(pow(ones({2}, {.dtype = F16}), 2).dtype() == F16);
  CHECK(pow(2, ones({2}, {.dtype = F16})).dtype() == F16);
  CHECK(pow(2, tensor<int32_t>({3})).dtype() == I32);
  CHECK(values(pow(2, tensor<int32_t>({3, 0, 10}))) == std::vector<double>{8, 1, 1024});
}

TEST_CASE("minimum, maximum and comparisons with NaN") {
  for (DType dt : testing::float_dtypes()) {
    const Tensor a = tensor<float>({NAN, 1.f, NAN, -INFINITY, 2.f, -0.5f}).to(dt);
    const Tensor b = tensor<float>({1.f, NAN, NAN, 3.f, INFINITY, -1.f}).to(dt);
    const std::string n(dtype_name(dt));
    check_close(minimum(a, b), {6}, {NAN, NAN, NAN, -INFINITY, 2.0, -1.0}, 0.0, "minimum NaN " + n);
    check_close(maximum(a, b), {6}, {NAN, NAN, NAN, 3.0, INFINITY, -0.5}, 0.0, "maximum NaN " + n);
    check_close(a == b, {6}, {0, 0, 0, 0, 0, 0}, 0.0, "eq NaN " + n);
    check_close(a != b, {6}, {1, 1, 1, 1, 1, 1}, 0.0, "ne NaN " + n);
    check_close(a < b, {6}, {0, 0, 0, 1, 1, 0}, 0.0, "lt NaN " + n);
    check_close(a <= b, {6}, {0, 0, 0, 1, 1, 0}, 0.0, "le NaN " + n);
    check_close(a > b, {6}, {0, 0, 0, 0, 0, 1}, 0.0, "gt NaN " + n);
    check_close(a >= b, {6}, {0, 0, 0, 0, 0, 1}, 0.0, "ge NaN " + n);
    check_close(a == a, {6}, {0, 1, 0, 1, 1, 1}, 0.0, "eq self " + n);
    check_close(a == NAN, {6}, {0, 0, 0, 0, 0, 0}, 0.0, "eq NaN number " + n);
    check_close(a != NAN, {6}, {1, 1, 1, 1, 1, 1}, 0.0, "ne NaN number " + n);
    check_close(a < INFINITY, {6}, {0, 1, 0, 1, 1, 1}, 0.0, "lt inf number " + n);
    // NaN in a broadcast operand reaches every row.
    const Tensor col = tensor<float>({NAN, 0.f}).to(dt).view({2, 1});
    check_close(maximum(col, a.abs()), {2, 6},
                {NAN, NAN, NAN, NAN, NAN, NAN, NAN, 1, NAN, INFINITY, 2, 0.5}, 0.0, "maximum broadcast NaN " + n);
  }
}

TEST_CASE("logical ops on non-bool inputs") {
  const Tensor f = tensor<float>({0.5f, NAN, 0.f, -0.f, -3.f, 0.f});
  const Tensor i = tensor<int32_t>({2, 0, 4, 5, 0, 0});
  check_close(logical_and(f, i), {6}, {1, 0, 0, 0, 0, 0}, 0.0, "and");
  check_close(logical_or(f, i), {6}, {1, 1, 1, 1, 1, 0}, 0.0, "or");
  check_close(logical_xor(f, i), {6}, {0, 1, 1, 1, 1, 0}, 0.0, "xor");
  check_close(f && i, {6}, {1, 0, 0, 0, 0, 0}, 0.0, "&&");
  CHECK(logical_and(f, i).dtype() == kBool);
  CHECK(logical_xor(tensor<uint8_t>({0, 7}), tensor<double>({0.25, 0.0})).dtype() == kBool);
  check_close(logical_xor(tensor<uint8_t>({0, 7}), tensor<double>({0.25, 0.0})), {2}, {1, 1}, 0.0, "xor u8/f64");
  // Broadcast against a 0-dim operand.
  check_close(logical_or(tensor<int64_t>({0, 3}), scalar_tensor(0.0)), {2}, {0, 1}, 0.0, "or 0-dim");
}

TEST_CASE("in-place binary ops write through non-contiguous views into their base") {
  std::mt19937 rng(17);
  struct InplaceCase {
    const char* name;
    Op op;
    std::function<void(Tensor&, const Tensor&)> fn;
    bool floating_only;
  };
  const std::vector<InplaceCase> cases = {
      {"add_", Op::Add, [](Tensor& v, const Tensor& o) { v.add_(o); }, false},
      {"+=", Op::Add, [](Tensor& v, const Tensor& o) { v += o; }, false},
      {"sub_", Op::Sub, [](Tensor& v, const Tensor& o) { v.sub_(o); }, false},
      {"mul_", Op::Mul, [](Tensor& v, const Tensor& o) { v.mul_(o); }, false},
      {"*=", Op::Mul, [](Tensor& v, const Tensor& o) { v *= o; }, false},
      {"div_", Op::Div, [](Tensor& v, const Tensor& o) { v.div_(o); }, true},
      {"/=", Op::Div, [](Tensor& v, const Tensor& o) { v /= o; }, true},
  };
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> views = {
      {"t()", [](const Tensor& b) { return b.t(); }},
      {"step slice", [](const Tensor& b) { return b.slice(1, 1, std::nullopt, 2); }},
      {"narrow", [](const Tensor& b) { return b.narrow(0, 1, 2); }},
      {"select", [](const Tensor& b) { return b.select(1, 2); }},
      {"whole", [](const Tensor& b) { return b; }},
  };
  for (const InplaceCase& c : cases) {
    for (DType dt : testing::all_dtypes()) {
      if (c.floating_only && !is_floating(dt)) continue;
      if (c.op == Op::Sub && dt == kBool) continue;
      for (const auto& [vname, make_view] : views) {
        const Tensor base = random_tensor({4, 6}, dt, rng, Layout::Strided);
        const std::vector<double> before = testing::values(base);
        Tensor view = make_view(base);
        // Other operand: broadcast over the leading dim when there is one.
        const Shape other_shape = view.dim() >= 2 ? Shape{view.size(-1)} : view.sizes().vec();
        const Tensor other = random_tensor(other_shape, dt, rng, Layout::Strided);
        std::vector<double> want;
        testing::for_each_index(view.sizes(), [&](const std::vector<int64_t>& idx) {
          want.push_back(ref_binary(c.op, get(view, idx), get(other, source_index(other, idx)), dt));
        });
        const std::string what = std::string(c.name) + " on " + vname + " " + std::string(dtype_name(dt));
        c.fn(view, other);
        CHECK(view.dtype() == dt);
        check_base_after(base, before, view, want, tolerance(dt), what);
      }
    }
  }
  // Number operands in place, on a transposed view.
  for (DType dt : {I16, F16, F32, F64}) {
    const Tensor base = random_tensor({3, 4}, dt, rng);
    const std::vector<double> before = testing::values(base);
    Tensor v = base.t();
    std::vector<double> want;
    testing::for_each_index(v.sizes(), [&](const std::vector<int64_t>& idx) {
      double x = get(v, idx);
      x = ref_binary(Op::Add, x, 3, dt);
      x = ref_binary(Op::Mul, x, 2, dt);
      x = ref_binary(Op::Sub, x, 1, dt);
      want.push_back(x);
    });
    Tensor& r = v.add_(3);
    CHECK(&r == &v);
    v.mul_(2);
    v -= 1;
    check_base_after(base, before, v, want, tolerance(dt), "scalar in-place " + std::string(dtype_name(dt)));
  }
  {
    Tensor x = tensor<float>({1.f, 2.f, 4.f});
    x.div_(2);
    x /= 0.5;
    check_close(x, {3}, {1, 2, 4}, 0.0, "div_ number");
  }
}

TEST_CASE("in-place ops whose other operand overlaps self give the out-of-place result") {
  std::mt19937 rng(23);
  for (DType dt : {I32, F16, F32, F64}) {
    const std::string n(dtype_name(dt));
    {  // x += x^T on a square matrix
      const Tensor x0 = random_tensor({6, 6}, dt, rng);
      Tensor x = x0.clone();
      x.add_(x.t());
      std::vector<double> want;
      testing::for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
        want.push_back(round_to(dt, get(x0, i) + get(x0, {i[1], i[0]})));
      });
      check_close(x, {6, 6}, want, tolerance(dt), "x.add_(x.t()) vs reference " + n);
    }
    {  // shifted narrow views of one 1-D tensor, both directions
      const Tensor a0 = random_tensor({10}, dt, rng);
      Tensor a = a0.clone();
      a.narrow(0, 1, 9).add_(a.narrow(0, 0, 9));
      std::vector<double> want = testing::values(a0);
      for (int64_t i = 9; i >= 1; --i) want[i] = round_to(dt, get(a0, {i}) + get(a0, {i - 1}));
      check_close(a, {10}, want, tolerance(dt), "a[1:] += a[:-1] " + n);

      Tensor b = a0.clone();
      b.narrow(0, 0, 9).mul_(b.narrow(0, 1, 9));
      want = testing::values(a0);
      for (int64_t i = 0; i < 9; ++i) want[i] = round_to(dt, get(a0, {i}) * get(a0, {i + 1}));
      check_close(b, {10}, want, tolerance(dt), "a[:-1] *= a[1:] " + n);
    }
    {  // a broadcast row of self: x *= x[0]
      const Tensor x0 = random_tensor({4, 5}, dt, rng);
      Tensor x = x0.clone();
      x.mul_(x[0]);
      std::vector<double> want;
      testing::for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
        want.push_back(round_to(dt, get(x0, i) * get(x0, {0, i[1]})));
      });
      check_close(x, {4, 5}, want, tolerance(dt), "x *= x[0] " + n);
    }
    {  // with alpha, subtracting the transpose
      const Tensor x0 = random_tensor({5, 5}, dt, rng);
      Tensor x = x0.clone();
      x.sub_(x.t(), 2);
      std::vector<double> want;
      testing::for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
        want.push_back(ref_binary(Op::Sub, get(x0, i), get(x0, {i[1], i[0]}), dt, 2));
      });
      check_close(x, {5, 5}, want, tolerance(dt) * 2, "x.sub_(x.t(), 2) " + n);
    }
  }
  {  // large enough for the parallel path
    const Tensor x0 = random_tensor({200, 200}, F32, rng);
    Tensor x = x0.clone();
    x.add_(x.t());
    std::vector<double> want;
    testing::for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
      want.push_back(round_to(F32, get(x0, i) + get(x0, {i[1], i[0]})));
    });
    check_close(x, {200, 200}, want, tolerance(F32), "x.add_(x.t()) 200x200");
  }
}

TEST_CASE("in-place results are cast to self's dtype, or throw if PyTorch would") {
  {  // float16 += float64: computed in float64, stored as float16
    Tensor x = tensor<float>({1.f, 2.f}).to(F16);
    x.add_(tensor<double>({1e-3, 1.0 / 3}));
    CHECK(x.dtype() == F16);
    check_close(x, {2}, {round_to(F16, 1.001), round_to(F16, 2.0 + 1.0 / 3)}, 0.0, "f16 += f64");
  }
  {  // int32 += int64 wraps when stored
    Tensor x = tensor<int32_t>({2147483647, 5});
    x.add_(tensor<int64_t>({1, -10}));
    CHECK(x.dtype() == I32);
    CHECK(testing::values(x) == std::vector<double>{-2147483648.0, -5});
  }
  {  // a transposed view of an int8 base *= an int16 tensor
    Tensor base = tensor<int8_t>({{1, 2, 3}, {4, 5, 6}});
    Tensor v = base.t();
    v.mul_(tensor<int16_t>({{10, 100}, {1, 1}, {1, 1}}));
    CHECK(testing::values(base) == std::vector<double>{10, 2, 3, static_cast<double>(static_cast<int8_t>(400)), 5, 6});
  }
  {
    Tensor x = tensor<int32_t>({1, 2});
    const std::string msg = error_message([&] { x.add_(tensor<float>({1.5f, 2.f})); });
    INFO(msg);
    CHECK(contains(msg, "add_"));
    CHECK(contains(msg, "float32"));
    CHECK(contains(msg, "int32"));
    CHECK(contains(msg, "can't be cast"));
    CHECK(testing::values(x) == std::vector<double>{1, 2});  // untouched
    CHECK(contains(error_message([&] { x.add_(2.5); }), "can't be cast"));
    CHECK(contains(error_message([&] { x.mul_(scalar_tensor(2.5)); }), "can't be cast"));
    const std::string dmsg = error_message([&] { x.div_(2); });
    CHECK(contains(dmsg, "div_"));
    CHECK(contains(dmsg, "can't be cast"));
  }
  {
    Tensor m = tensor<bool>({true, false});
    CHECK(contains(error_message([&] { m.add_(1); }), "can't be cast"));
    CHECK(contains(error_message([&] { m.mul_(2); }), "can't be cast"));
    m.add_(tensor<bool>({false, true}));  // bool += bool is logical or
    CHECK(testing::values(m) == std::vector<double>{1, 1});
  }
  {  // self must already have the broadcast shape
    Tensor x = ones({4});
    const std::string msg = error_message([&] { x.add_(ones({3, 4})); });
    INFO(msg);
    CHECK(contains(msg, "add_"));
    CHECK(contains(msg, "[4]"));
    CHECK(contains(msg, "[3, 4]"));
  }
}

TEST_CASE("in-place binary ops on an expanded tensor throw") {
  Tensor base = ones({1, 3});
  Tensor e = base.expand({2, 3});
  const std::vector<std::pair<const char*, std::function<void()>>> ops = {
      {"add_", [&] { e.add_(1); }},
      {"add_ tensor", [&] { e.add_(ones({2, 3})); }},
      {"sub_", [&] { e.sub_(ones({3})); }},
      {"mul_", [&] { e.mul_(2); }},
      {"div_", [&] { e.div_(ones({2, 3})); }},
      {"add_ f64 tensor (cast path)", [&] { e.add_(ones({2, 3}, {.dtype = F64})); }},
  };
  for (const auto& [name, fn] : ops) {
    const std::string msg = error_message(fn);
    INFO(name, ": ", msg);
    CHECK(contains(msg, "single memory location"));
  }
  CHECK(testing::values(base) == std::vector<double>{1, 1, 1});
  // A size-1 expanded dim is fine.
  Tensor ok = ones({3, 1}).expand({3, 1});
  ok.add_(1);
  CHECK(testing::values(ok) == std::vector<double>{2, 2, 2});
}

TEST_CASE("binary op errors name the op, the shapes and a hint") {
  const Tensor a = ones({2, 3}), b = ones({4});
  for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"add", [&] { (void)(a + b); }},
           {"sub", [&] { (void)(a - b); }},
           {"mul", [&] { (void)(a * b); }},
           {"div", [&] { (void)(a / b); }},
           {"eq", [&] { (void)(a == b); }},
           {"minimum", [&] { (void)minimum(a, b); }},
           {"logical_and", [&] { (void)logical_and(a, b); }},
       }) {
    const std::string msg = error_message(fn);
    INFO(msg);
    CHECK(contains(msg, name));
    CHECK(contains(msg, "[2, 3]"));
    CHECK(contains(msg, "[4]"));
  }
  {
    const Tensor t = tensor<bool>({true, false});
    const std::string msg = error_message([&] { (void)(t - t); });
    INFO(msg);
    CHECK(contains(msg, "sub"));
    CHECK(contains(msg, "bool"));
    // PyTorch refuses a bool operand on either side of `-`, not just two bool tensors.
    CHECK(contains(error_message([&] { (void)(t - 1); }), "bool"));
    CHECK(contains(error_message([&] { (void)(1 - t); }), "bool"));
    CHECK(contains(error_message([&] { (void)(ones({2}) - t); }), "bool"));
    CHECK(contains(error_message([&] { (void)(ones({2}) - true); }), "bool"));
    CHECK(contains(error_message([&] { (void)sub(ones({2}), t, 2); }), "bool"));
  }
  {
    const std::string msg = error_message([&] { (void)tensor<int64_t>({1, 2}).pow(-1); });
    INFO(msg);
    CHECK(contains(msg, "pow"));
    CHECK(contains(msg, "negative"));
    CHECK(contains(error_message([&] { (void)tensor<int8_t>({1}).pow(-2); }), "negative"));
    CHECK(error_message([&] { (void)tensor<int64_t>({1, 2}).pow(-1.0); }).empty());  // float exponent is fine
  }
}

TEST_CASE("large binary launches take the parallel path") {
  std::mt19937 rng(31);
  for (DType dt : {F32, F16, I32}) {
    const Tensor a = random_tensor({300, 120}, dt, rng, Layout::Transposed);
    const Tensor b = random_tensor({120}, dt, rng, Layout::Strided);
    check_binary(Op::Add, a + b, a, b, dt, dt, "big add " + std::string(dtype_name(dt)));
    check_binary(Op::Lt, a < b, a, b, dt, kBool, "big lt " + std::string(dtype_name(dt)));
  }
}
