// Unary element-wise ops (exp, log, log1p, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu,
// gelu exact and tanh, silu, reciprocal, square, neg, abs, logical_not, isnan, isfinite)
// against a double reference computed from the raw input memory (testing::get), on every
// dtype each op supports, on 0-dim / zero-size / 1-D..4-D shapes and all three layouts;
// special values (inf, NaN, signed zero); integer inputs promoting to float32; integer
// wrap-around; in-place forms on views and expanded tensors; error messages.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

constexpr DType F16 = kFloat16, BF16 = kBFloat16, F32 = kFloat32, F64 = kFloat64;

enum class Kind {
  Floating,      // float dtypes; integer and bool inputs compute in float32
  FloatingOnly,  // float dtypes; integer inputs throw
  Numeric,       // every dtype but bool, result in the input dtype
  Any,           // every dtype, result in the input dtype
  Logical,       // every dtype, result bool
};

struct UnaryCase {
  const char* name;
  Kind kind;
  std::function<Tensor(const Tensor&)> fn;
  std::function<double(double)> ref;  // in double; result rounded to the output dtype
  double lo, hi;                      // random input range for float dtypes
};

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

const std::vector<UnaryCase>& unary_cases() {
  static const std::vector<UnaryCase> cases = {
      {"exp", Kind::Floating, [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -4, 4},
      {"log", Kind::Floating, [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, -1, 4},
      {"log1p", Kind::Floating, [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -1.5, 4},
      {"sqrt", Kind::Floating, [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, -1, 4},
      {"rsqrt", Kind::Floating, [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1.0 / std::sqrt(x); }, -1, 4},
      {"sin", Kind::Floating, [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -6, 6},
      {"cos", Kind::Floating, [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -6, 6},
      {"tanh", Kind::Floating, [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -5, 5},
      {"sigmoid", Kind::Floating, [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, -8, 8},
      {"reciprocal", Kind::Floating, [](const Tensor& x) { return x.reciprocal(); }, [](double x) { return 1.0 / x; }, -2, 2},
      {"gelu", Kind::FloatingOnly, [](const Tensor& x) { return gelu(x); }, gelu_ref, -5, 5},
      {"gelu(tanh)", Kind::FloatingOnly, [](const Tensor& x) { return gelu(x, true); }, gelu_tanh_ref, -5, 5},
      {"silu", Kind::FloatingOnly, [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); }, -8, 8},
      {"relu", Kind::Numeric, [](const Tensor& x) { return relu(x); }, [](double x) { return std::isnan(x) || x > 0 ? x : 0.0; }, -2, 2},
      {"neg", Kind::Numeric, [](const Tensor& x) { return -x; }, [](double x) { return -x; }, -2, 2},
      {"abs", Kind::Numeric, [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }, -2, 2},
      {"square", Kind::Any, [](const Tensor& x) { return x.square(); }, [](double x) { return x * x; }, -2, 2},
      {"logical_not", Kind::Logical, [](const Tensor& x) { return !x; }, [](double x) { return x == 0 ? 1.0 : 0.0; }, -2, 2},
  };
  return cases;
}

// The dtype op computes in for input dtype dt (nullopt: the op rejects dt).
std::optional<DType> compute_dtype(Kind kind, DType dt) {
  switch (kind) {
    case Kind::Floating: return is_floating(dt) ? dt : F32;
    case Kind::FloatingOnly: return is_floating(dt) ? std::optional<DType>(dt) : std::nullopt;
    case Kind::Numeric: return dt == kBool ? std::nullopt : std::optional<DType>(dt);
    case Kind::Any: case Kind::Logical: return dt;
  }
  return std::nullopt;
}

void check_unary(const UnaryCase& c, const Tensor& out, const Tensor& x, DType compute, const std::string& what) {
  INFO(what, " | x=", describe(x));
  const DType expected = c.kind == Kind::Logical ? kBool : compute;
  CHECK_MESSAGE(out.dtype() == expected, "dtype ", dtype_name(out.dtype()), " expected ", dtype_name(expected));
  if (out.dtype() != expected) return;
  std::vector<double> want;
  testing::for_each_index(x.sizes(), [&](const std::vector<int64_t>& idx) {
    const double v = round_to(compute, get(x, idx));
    want.push_back(round_to(expected, c.ref(v)));
  });
  check_close(out, x.sizes(), want, tolerance(expected), what);
}

// A 1-D float tensor of the given values in dtype dt (values must be representable).
Tensor make_values(const std::vector<double>& v, DType dt, bool strided = false) {
  const int64_t n = static_cast<int64_t>(v.size());
  Tensor t = strided ? empty({2 * n}, {.dtype = dt}).slice(0, 0, std::nullopt, 2) : empty({n}, {.dtype = dt});
  for (int64_t i = 0; i < n; ++i) testing::set(t, {i}, v[i]);
  return t;
}

}  // namespace

TEST_CASE("unary ops match a double reference on every dtype, shape and layout") {
  std::mt19937 rng(4321);
  const std::vector<Shape> shapes = {{}, {0, 3}, {2, 0, 4}, {7}, {1}, {3, 5}, {2, 3, 4}, {2, 3, 2, 2}, {1, 4, 1}};
  for (const UnaryCase& c : unary_cases()) {
    for (DType dt : testing::all_dtypes()) {
      const std::optional<DType> compute = compute_dtype(c.kind, dt);
      for (const Shape& shape : shapes) {
        for (Layout layout : testing::all_layouts()) {
          const Tensor x = random_tensor(shape, dt, rng, layout, c.lo, c.hi);
          const std::string what = std::string(c.name) + " " + std::string(dtype_name(dt)) + " " + shape_str(shape);
          if (!compute) {
            const std::string msg = error_message([&] { (void)c.fn(x); });
            INFO(what);
            CHECK_MESSAGE(!msg.empty(), "expected an error");
            continue;
          }
          check_unary(c, c.fn(x), x, *compute, what);
        }
      }
    }
  }
}

TEST_CASE("unary ops on special values (inf, NaN, signed zero, overflow)") {
  const std::vector<double> base = {0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN, 0.5, 100.0, -100.0, 3.0, -7.5};
  // Tiled 5 times (60 values) so that every value also lands in a full SIMD packet of the
  // contiguous (Eigen) path, at every position modulo 4.
  std::vector<double> specials;
  for (int r = 0; r < 5; ++r) {
    specials.insert(specials.end(), base.begin() + r, base.end());
    specials.insert(specials.end(), base.begin(), base.begin() + r);
  }
  for (const UnaryCase& c : unary_cases()) {
    for (DType dt : testing::float_dtypes()) {
      for (bool strided : {false, true}) {  // Eigen's contiguous path and the scalar loop
        const Tensor x = make_values(specials, dt, strided);
        const std::string what = std::string(c.name) + " specials " + std::string(dtype_name(dt)) +
                                 (strided ? " strided" : " contiguous");
        check_unary(c, c.fn(x), x, dt, what);
      }
    }
  }
  // A few values spelled out (PyTorch 1.13 results).
  const Tensor z = make_values({0.0, -0.0, -1.0}, F32);
  check_close(rsqrt(z), {3}, {INFINITY, -INFINITY, NAN}, 0.0, "rsqrt(+-0, -1)");
  check_close(log(z), {3}, {-INFINITY, -INFINITY, NAN}, 0.0, "log(+-0, -1)");
  check_close(log1p(z), {3}, {0.0, 0.0, -INFINITY}, 0.0, "log1p(+-0, -1)");
  const Tensor inf = make_values({-INFINITY, INFINITY}, F32);
  check_close(gelu(inf), {2}, {NAN, INFINITY}, 0.0, "gelu(-inf, inf)");
  check_close(silu(inf), {2}, {NAN, INFINITY}, 0.0, "silu(-inf, inf)");
  check_close(sigmoid(inf), {2}, {0.0, 1.0}, 0.0, "sigmoid(-inf, inf)");
  check_close(relu(make_values({NAN, -1.0, 2.0}, F64)), {3}, {NAN, 0.0, 2.0}, 0.0, "relu keeps NaN");
}

TEST_CASE("integer and bool inputs of floating ops compute in float32") {
  const Tensor i = make_values({0, 1, 4, -1, 9}, kInt64);
  CHECK(exp(i).dtype() == F32);
  CHECK(sqrt(i).dtype() == F32);
  CHECK(sigmoid(make_values({1, 0}, kBool)).dtype() == F32);
  CHECK(i.reciprocal().dtype() == F32);
  check_close(sqrt(i), {5}, {0, 1, 2, NAN, 3}, 0.0, "sqrt(int64)");
  check_close(make_values({1, 0}, kBool).exp(), {2}, {round_to(F32, std::exp(1.0)), 1.0}, tolerance(F32), "exp(bool)");
  check_close(make_values({4, 0}, kUInt8).rsqrt(), {2}, {0.5, INFINITY}, 0.0, "rsqrt(uint8)");
  // Ops that keep the dtype.
  CHECK(relu(i).dtype() == kInt64);
  CHECK(abs(make_values({-3}, kInt8)).dtype() == kInt8);
  CHECK(i.square().dtype() == kInt64);
  CHECK((!i).dtype() == kBool);
}

TEST_CASE("neg, abs and square wrap around on integers") {
  CHECK(values(-make_values({-128, 127, 0, -1}, kInt8)) == std::vector<double>{-128, -127, 0, 1});
  CHECK(values(-make_values({0, 3, 255}, kUInt8)) == std::vector<double>{0, 253, 1});
  CHECK(values(-make_values({-32768}, kInt16)) == std::vector<double>{-32768});
  CHECK(values(abs(make_values({-128, -127, 5}, kInt8))) == std::vector<double>{-128, 127, 5});
  CHECK(values(abs(make_values({-2147483648.0, -3}, kInt32))) == std::vector<double>{-2147483648.0, 3});
  CHECK(values(make_values({16, -12, 200}, kInt16).square()) == std::vector<double>{256, 144, -25536});
  CHECK(values(make_values({16, 255}, kUInt8).square()) == std::vector<double>{0, 1});
  {
    Tensor t = empty({2}, {.dtype = kInt64});
    const int64_t mn = std::numeric_limits<int64_t>::min();
    std::memcpy(t.data_ptr(), &mn, sizeof mn);
    const int64_t three = -3;
    std::memcpy(static_cast<char*>(t.data_ptr()) + 8, &three, sizeof three);
    const Tensor n = -t, a = abs(t);
    int64_t r[2];
    std::memcpy(r, n.data_ptr(), sizeof r);
    CHECK(r[0] == mn);
    CHECK(r[1] == 3);
    std::memcpy(r, a.data_ptr(), sizeof r);
    CHECK(r[0] == mn);
    CHECK(r[1] == 3);
  }
}

TEST_CASE("isnan and isfinite") {
  std::mt19937 rng(9);
  for (DType dt : testing::all_dtypes()) {
    const Tensor x = random_tensor({3, 4}, dt, rng, Layout::Transposed);
    if (is_floating(dt)) {
      testing::set(x, {0, 0}, NAN);
      testing::set(x, {1, 2}, INFINITY);
      testing::set(x, {2, 3}, -INFINITY);
      testing::set(x, {2, 1}, -NAN);
    }
    const Tensor n = isnan(x), f = isfinite(x);
    CHECK(n.dtype() == kBool);
    CHECK(f.dtype() == kBool);
    std::vector<double> want_n, want_f;
    testing::for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
      const double v = get(x, i);
      want_n.push_back(std::isnan(v));
      want_f.push_back(std::isfinite(v));
    });
    check_close(n, {3, 4}, want_n, 0.0, "isnan " + std::string(dtype_name(dt)));
    check_close(f, {3, 4}, want_f, 0.0, "isfinite " + std::string(dtype_name(dt)));
  }
  CHECK(isnan(empty({0, 2})).sizes().vec() == Shape{0, 2});
  CHECK(isfinite(scalar_tensor(INFINITY)).item<bool>() == false);
  CHECK(isfinite(scalar_tensor(int64_t{5})).item<bool>() == true);
}

TEST_CASE("in-place unary ops write through non-contiguous views into their base") {
  std::mt19937 rng(13);
  struct InplaceCase {
    const char* name;
    std::function<Tensor&(Tensor&)> fn;
    std::function<double(double)> ref;
    bool integers;  // also run on integer dtypes
    double lo, hi;
  };
  const std::vector<InplaceCase> cases = {
      {"neg_", [](Tensor& v) -> Tensor& { return v.neg_(); }, [](double x) { return -x; }, true, -2, 2},
      {"abs_", [](Tensor& v) -> Tensor& { return v.abs_(); }, [](double x) { return std::abs(x); }, true, -2, 2},
      {"relu_", [](Tensor& v) -> Tensor& { return v.relu_(); }, [](double x) { return x > 0 ? x : 0.0; }, true, -2, 2},
      {"exp_", [](Tensor& v) -> Tensor& { return v.exp_(); }, [](double x) { return std::exp(x); }, false, -3, 3},
      {"log_", [](Tensor& v) -> Tensor& { return v.log_(); }, [](double x) { return std::log(x); }, false, 0.1, 4},
      {"sqrt_", [](Tensor& v) -> Tensor& { return v.sqrt_(); }, [](double x) { return std::sqrt(x); }, false, 0, 4},
      {"tanh_", [](Tensor& v) -> Tensor& { return v.tanh_(); }, [](double x) { return std::tanh(x); }, false, -3, 3},
      {"sigmoid_", [](Tensor& v) -> Tensor& { return v.sigmoid_(); }, sigmoid_ref, false, -5, 5},
  };
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> views = {
      {"t()", [](const Tensor& b) { return b.t(); }},
      {"step slice", [](const Tensor& b) { return b.slice(1, 1, std::nullopt, 2); }},
      {"narrow", [](const Tensor& b) { return b.narrow(0, 1, 2); }},
      {"select", [](const Tensor& b) { return b.select(1, 2); }},
      {"0-dim element", [](const Tensor& b) { return b.select(0, 3).select(0, 5); }},
      {"whole", [](const Tensor& b) { return b; }},
  };
  for (const InplaceCase& c : cases) {
    for (DType dt : testing::all_dtypes()) {
      if (dt == kBool || (!c.integers && !is_floating(dt))) continue;
      for (const auto& [vname, make_view] : views) {
        const Tensor base = random_tensor({4, 6}, dt, rng, Layout::Transposed, c.lo, c.hi);
        const std::vector<double> before = values(base);
        Tensor view = make_view(base);
        std::vector<double> want;
        testing::for_each_index(view.sizes(), [&](const std::vector<int64_t>& idx) {
          want.push_back(round_to(dt, c.ref(get(view, idx))));
        });
        const std::string what = std::string(c.name) + " on " + vname + " " + std::string(dtype_name(dt));
        Tensor& r = c.fn(view);
        CHECK(&r == &view);
        CHECK(view.dtype() == dt);
        check_base_after(base, before, view, want, tolerance(dt), what);
      }
    }
  }
}

TEST_CASE("in-place unary errors: result type, bool, expanded tensors") {
  Tensor i = make_values({1, 2}, kInt32);
  for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"exp_", [&] { i.exp_(); }},
           {"log_", [&] { i.log_(); }},
           {"sqrt_", [&] { i.sqrt_(); }},
           {"sigmoid_", [&] { i.sigmoid_(); }},
       }) {
    const std::string msg = error_message(fn);
    INFO(msg);
    CHECK(contains(msg, name));
    CHECK(contains(msg, "float32"));
    CHECK(contains(msg, "int32"));
    CHECK(contains(msg, "can't be cast"));
  }
  CHECK(values(i) == std::vector<double>{1, 2});

  Tensor b = make_values({1, 0}, kBool);
  {
    const std::string msg = error_message([&] { (void)-b; });
    INFO(msg);
    CHECK(contains(msg, "neg"));
    CHECK(contains(msg, "bool"));
    CHECK(contains(msg, "logical_not"));
  }
  CHECK(contains(error_message([&] { b.neg_(); }), "bool"));
  CHECK(contains(error_message([&] { (void)relu(b); }), "bool"));
  CHECK(contains(error_message([&] { b.relu_(); }), "bool"));

  for (DType dt : {kInt64, kInt32, kUInt8, kBool}) {
    const Tensor x = make_values({1, 2}, dt);
    for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<void()>>>{
             {"gelu", [&] { (void)gelu(x); }},
             {"gelu", [&] { (void)gelu(x, true); }},
             {"silu", [&] { (void)silu(x); }},
         }) {
      const std::string msg = error_message(fn);
      INFO(msg);
      CHECK(contains(msg, name));
      CHECK(contains(msg, std::string(dtype_name(dt))));
      CHECK(contains(msg, "floating"));
    }
  }

  Tensor base = make_values({0.5, -1.0, 2.0}, F32);
  Tensor e = base.view({1, 3}).expand({4, 3});
  for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"neg_", [&] { e.neg_(); }},
           {"exp_", [&] { e.exp_(); }},
           {"relu_", [&] { e.relu_(); }},
           {"abs_", [&] { e.abs_(); }},
           {"sigmoid_", [&] { e.sigmoid_(); }},
       }) {
    const std::string msg = error_message(fn);
    INFO(name, ": ", msg);
    CHECK(contains(msg, "single memory location"));
  }
  CHECK(values(base) == std::vector<double>{0.5, -1.0, 2.0});
  // An expanded half tensor, where the op runs in float and converts back.
  Tensor h = make_values({0.5}, F16).expand({3});
  CHECK(contains(error_message([&] { h.exp_(); }), "single memory location"));
}

TEST_CASE("large unary launches take the parallel path") {
  std::mt19937 rng(77);
  const UnaryCase& exp_case = unary_cases()[0];
  const UnaryCase& sigmoid_case = unary_cases()[8];
  const UnaryCase& gelu_case = unary_cases()[10];
  REQUIRE(std::string(exp_case.name) == "exp");
  REQUIRE(std::string(sigmoid_case.name) == "sigmoid");
  REQUIRE(std::string(gelu_case.name) == "gelu");
  const Tensor a = random_tensor({40000}, F32, rng, Layout::Strided, -3, 3);
  check_unary(exp_case, exp(a), a, F32, "big exp f32 strided");
  const Tensor b = random_tensor({40000}, F32, rng, Layout::Contiguous, -3, 3);
  check_unary(exp_case, exp(b), b, F32, "big exp f32 contiguous");
  const Tensor c = random_tensor({250, 160}, F16, rng, Layout::Transposed, -5, 5);
  check_unary(sigmoid_case, sigmoid(c), c, F16, "big sigmoid f16 transposed");
  const Tensor d0 = random_tensor({40000}, F64, rng, Layout::Contiguous, -3, 3);
  Tensor d = d0.clone();
  std::vector<double> want;
  for (int64_t k = 0; k < 40000; ++k) want.push_back(gelu_ref(get(d0, {k})));
  d.neg_().neg_();  // in place, twice: back to the input
  check_close(gelu(d), {40000}, want, tolerance(F64), "big gelu f64 after neg_ neg_");
}
