// where, clamp / clamp_, masked_fill / masked_fill_, isclose, allclose and equal against
// references computed in double from the raw input memory (testing::get): every dtype,
// broadcast operands (0-dim included), all three layouts, number operands, NaN rules,
// in-place forms on views and expanded tensors, and error messages.
#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

constexpr DType B = kBool, U8 = kUInt8, I8 = kInt8, I16 = kInt16, I32 = kInt32, I64 = kInt64,
                F16 = kFloat16, BF16 = kBFloat16, F32 = kFloat32, F64 = kFloat64;

// torch.result_type(tensor, 2), (tensor, 2.5).
constexpr DType kWithInt[10] = {I64, U8, I8, I16, I32, I64, F16, BF16, F32, F64};
constexpr DType kWithFloat[10] = {F32, F32, F32, F32, F32, F32, F16, BF16, F32, F64};

DType promote(DType a, DType b) { return testing::reference_promote(a, b); }

Shape ref_broadcast(const std::vector<Shape>& shapes) {
  size_t n = 0;
  for (const Shape& s : shapes) n = std::max(n, s.size());
  Shape out(n, 1);
  for (const Shape& s : shapes) {
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[n - s.size() + i];
      REQUIRE((s[i] == o || s[i] == 1 || o == 1));
      if (o == 1) o = s[i];
    }
  }
  return out;
}

Tensor make_values(const std::vector<double>& v, DType dt, std::optional<Shape> shape = std::nullopt) {
  Tensor t = empty(shape ? *shape : Shape{static_cast<int64_t>(v.size())}, {.dtype = dt});
  size_t k = 0;
  testing::for_each_index(t.sizes(), [&](const std::vector<int64_t>& i) { testing::set(t, i, v[k++]); });
  REQUIRE(k == v.size());
  return t;
}

// where(cond, a, b) with a and b converted to `dtype`.
void check_where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b, DType dtype,
                 const std::string& what) {
  INFO(what, " | cond=", describe(cond), " a=", describe(a), " b=", describe(b));
  CHECK_MESSAGE(out.dtype() == dtype, "dtype ", dtype_name(out.dtype()), " expected ", dtype_name(dtype));
  if (out.dtype() != dtype) return;
  const Shape shape = ref_broadcast({cond.sizes().vec(), a.sizes().vec(), b.sizes().vec()});
  std::vector<double> want;
  testing::for_each_index(shape, [&](const std::vector<int64_t>& idx) {
    const bool c = get(cond, source_index(cond, idx)) != 0;
    want.push_back(round_to(dtype, c ? get(a, source_index(a, idx)) : get(b, source_index(b, idx))));
  });
  check_close(out, shape, want, 0.0, what);
}

// clamp(x, lo, hi) with NaN propagation; undefined lo / hi mean no bound.
double clamp_ref(double x, std::optional<double> lo, std::optional<double> hi) {
  if (std::isnan(x) || (lo && std::isnan(*lo)) || (hi && std::isnan(*hi))) return std::nan("");
  if (lo) x = std::max(x, *lo);
  if (hi) x = std::min(x, *hi);
  return x;
}

// out == clamp(x, lo, hi), the operands (tensors or number holders; undefined = no bound)
// converted to `dtype`.
void check_clamp(const Tensor& out, const Tensor& x, const Tensor& lo, const Tensor& hi, DType dtype,
                 const std::string& what) {
  INFO(what, " | x=", describe(x));
  CHECK_MESSAGE(out.dtype() == dtype, "dtype ", dtype_name(out.dtype()), " expected ", dtype_name(dtype));
  if (out.dtype() != dtype) return;
  std::vector<Shape> shapes = {x.sizes().vec()};
  if (lo.defined()) shapes.push_back(lo.sizes().vec());
  if (hi.defined()) shapes.push_back(hi.sizes().vec());
  const Shape shape = ref_broadcast(shapes);
  std::vector<double> want;
  testing::for_each_index(shape, [&](const std::vector<int64_t>& idx) {
    std::optional<double> l, h;
    if (lo.defined()) l = round_to(dtype, get(lo, source_index(lo, idx)));
    if (hi.defined()) h = round_to(dtype, get(hi, source_index(hi, idx)));
    want.push_back(round_to(dtype, clamp_ref(round_to(dtype, get(x, source_index(x, idx))), l, h)));
  });
  check_close(out, shape, want, 0.0, what);
}

}  // namespace

TEST_CASE("where: every dtype, broadcast cond / a / b, all layouts") {
  std::mt19937 rng(101);
  struct Shapes {
    Shape c, a, b;
  };
  const std::vector<Shapes> shapes = {
      {{2, 3}, {2, 3}, {2, 3}},   {{3, 1, 1}, {1, 4, 1}, {5}},   {{}, {2, 3}, {3}},
      {{4}, {}, {}},              {{0, 3}, {1, 3}, {3}},         {{2, 0, 4}, {4}, {1}},
      {{2, 1, 3, 1}, {3, 4}, {2, 1, 1, 1}}, {{}, {}, {}},        {{7}, {7}, {1}},
  };
  for (DType dt : testing::all_dtypes()) {
    for (const Shapes& s : shapes) {
      for (int li = 0; li < 3; ++li) {
        const Tensor c = random_tensor(s.c, kBool, rng, testing::all_layouts()[li]);
        const Tensor a = random_tensor(s.a, dt, rng, testing::all_layouts()[(li + 1) % 3]);
        const Tensor b = random_tensor(s.b, dt, rng, testing::all_layouts()[(li + 2) % 3]);
        check_where(where(c, a, b), c, a, b, dt,
                    "where " + std::string(dtype_name(dt)) + " " + shape_str(s.c) + shape_str(s.a) + shape_str(s.b));
      }
    }
  }
  // A large launch (parallel path).
  const Tensor c = random_tensor({200, 200}, kBool, rng, Layout::Transposed);
  const Tensor a = random_tensor({200, 200}, F32, rng, Layout::Strided);
  const Tensor b = random_tensor({200}, F32, rng);
  check_where(where(c, a, b), c, a, b, F32, "where 200x200");
}

TEST_CASE("where: mixed dtypes and number branches promote like PyTorch") {
  std::mt19937 rng(103);
  for (DType da : testing::all_dtypes()) {
    for (DType db : testing::all_dtypes()) {
      const Tensor c = random_tensor({3, 1, 4}, kBool, rng, Layout::Transposed);
      const Tensor a = random_tensor({5, 4}, da, rng, Layout::Strided);
      const Tensor b = random_tensor({4}, db, rng);
      check_where(where(c, a, b), c, a, b, promote(da, db),
                  "where " + std::string(dtype_name(da)) + "/" + std::string(dtype_name(db)));
    }
    const int d = static_cast<int>(da);
    const Tensor c = random_tensor({2, 3}, kBool, rng, Layout::Transposed);
    const Tensor t = random_tensor({3}, da, rng, Layout::Strided);
    const std::string n(dtype_name(da));
    check_where(where(c, 1.5, t), c, number(1.5), t, kWithFloat[d], "where(c, 1.5, t) " + n);
    check_where(where(c, t, 3), c, t, number(3), kWithInt[d], "where(c, t, 3) " + n);
    check_where(where(c, t, -0.25), c, t, number(-0.25), kWithFloat[d], "where(c, t, -0.25) " + n);
    check_where(where(c, t, true), c, t, number(1), da, "where(c, t, true) " + n);
  }
  const Tensor c = make_values({1, 0, 1}, kBool);
  check_where(where(c, 1, 0), c, number(1), number(0), I64, "where(c, 1, 0)");
  check_where(where(c, 1.0, 0.0), c, number(1), number(0), F32, "where(c, 1., 0.)");
  check_where(where(c, true, false), c, number(1), number(0), kBool, "where(c, true, false)");
  check_where(where(c, 2, make_values({1, 0, 1}, kBool)), c, number(2), make_values({1, 0, 1}, kBool), I64,
              "where(c, 2, bool)");
  // 0-dim tensor branches count like numbers unless of a higher category.
  const Tensor i8 = make_values({1, 2, 3}, I8);
  const Tensor z64 = make_values({-200}, I64, Shape{});
  check_where(where(c, z64, i8), c, z64, i8, I8, "where(c, 0-dim int64, int8)");
  const Tensor zf = make_values({2.5}, F64, Shape{});
  check_where(where(c, zf, make_values({1, 2, 3}, I32)), c, zf, make_values({1, 2, 3}, I32), F64,
              "where(c, 0-dim float64, int32)");

  // Errors.
  const std::string msg = error_message([&] { (void)where(make_values({1, 0}, I64), ones({2}), ones({2})); });
  INFO(msg);
  CHECK(contains(msg, "where"));
  CHECK(contains(msg, "bool"));
  const std::string bmsg = error_message([&] { (void)where(c, ones({2, 3}), ones({4})); });
  CHECK(contains(bmsg, "where"));
  CHECK(contains(bmsg, "[4]"));
}

TEST_CASE("clamp: only min, only max, both, tensor bounds, every dtype and layout") {
  std::mt19937 rng(107);
  const std::vector<Shape> shapes = {{}, {0, 3}, {7}, {3, 5}, {2, 3, 4}, {2, 0, 4}};
  for (DType dt : testing::all_dtypes()) {
    if (dt == kBool) continue;
    const int d = static_cast<int>(dt);
    const std::string n(dtype_name(dt));
    for (const Shape& s : shapes) {
      for (Layout layout : testing::all_layouts()) {
        const Tensor x = random_tensor(s, dt, rng, layout);
        const std::string what = n + " " + shape_str(s);
        check_clamp(clamp(x, -1, 1), x, number(-1), number(1), kWithInt[d], "clamp(-1, 1) " + what);
        check_clamp(x.clamp(-0.5, 0.75), x, number(-0.5), number(0.75), kWithFloat[d], "clamp(-.5, .75) " + what);
        check_clamp(x.clamp(2), x, number(2), Tensor(), kWithInt[d], "clamp(min=2) " + what);
        check_clamp(x.clamp(-0.5), x, number(-0.5), Tensor(), kWithFloat[d], "clamp(min=-.5) " + what);
        check_clamp(x.clamp(std::nullopt, 0), x, Tensor(), number(0), kWithInt[d], "clamp(max=0) " + what);
        check_clamp(x.clamp(std::nullopt, 1.25), x, Tensor(), number(1.25), kWithFloat[d], "clamp(max=1.25) " + what);
        check_clamp(x.clamp(3, -3), x, number(3), number(-3), kWithInt[d], "clamp(min > max) " + what);
      }
    }
    // Tensor bounds, broadcast: x [3, 4], lo [4], hi [3, 1].
    for (DType bt : {dt, F32, I32}) {
      const Tensor x = random_tensor({3, 4}, dt, rng, Layout::Transposed);
      const Tensor lo = random_tensor({4}, bt, rng, Layout::Strided, -2, 0);
      const Tensor hi = random_tensor({3, 1}, bt, rng, Layout::Contiguous, 0, 2);
      check_clamp(x.clamp(lo, hi), x, lo, hi, promote(dt, bt),
                  "clamp(tensor, tensor) " + n + " bounds " + std::string(dtype_name(bt)));
    }
  }
  // A large launch (parallel path).
  const Tensor x = random_tensor({40000}, F32, rng, Layout::Strided);
  check_clamp(x.clamp(-1, 0.5), x, number(-1), number(0.5), F32, "clamp 40000");
}

TEST_CASE("clamp: NaN propagates from the input and from the bounds") {
  for (DType dt : testing::float_dtypes()) {
    const std::string n(dtype_name(dt));
    const Tensor x = make_values({NAN, -3, 0.5, 3, NAN, 1}, dt);
    check_close(x.clamp(-1, 1), {6}, {NAN, -1, 0.5, 1, NAN, 1}, 0.0, "clamp(-1, 1) " + n);
    check_close(x.clamp(-1), {6}, {NAN, -1, 0.5, 3, NAN, 1}, 0.0, "clamp(min) " + n);
    check_close(x.clamp(std::nullopt, 1), {6}, {NAN, -3, 0.5, 1, NAN, 1}, 0.0, "clamp(max) " + n);
    check_close(x.clamp(NAN), {6}, {NAN, NAN, NAN, NAN, NAN, NAN}, 0.0, "clamp(min=nan) " + n);
    check_close(x.clamp(std::nullopt, NAN), {6}, {NAN, NAN, NAN, NAN, NAN, NAN}, 0.0, "clamp(max=nan) " + n);
    check_close(x.clamp(0, NAN), {6}, {NAN, NAN, NAN, NAN, NAN, NAN}, 0.0, "clamp(0, nan) " + n);
    const Tensor lo = make_values({0, NAN, 0, 0, 0, NAN}, dt);
    const Tensor hi = make_values({1, 1, NAN, 2, 1, 1}, dt);
    check_close(x.clamp(lo, hi), {6}, {NAN, NAN, NAN, 2, NAN, NAN}, 0.0, "clamp(tensor nan bounds) " + n);
    CHECK(x.clamp(-1, 1).dtype() == dt);
  }
  const std::string msg = error_message([&] { (void)ones({2}).clamp(std::nullopt, std::nullopt); });
  CHECK(contains(msg, "clamp"));
  CHECK(contains(msg, "at least one"));
}

TEST_CASE("clamp_ writes through views, casts like other in-place ops and refuses expanded tensors") {
  std::mt19937 rng(109);
  for (DType dt : testing::all_dtypes()) {
    if (dt == kBool) continue;
    for (int which = 0; which < 3; ++which) {
      const Tensor base = random_tensor({4, 6}, dt, rng, Layout::Transposed, -3, 3);
      const std::vector<double> before = values(base);
      Tensor view = which == 0 ? base.t() : which == 1 ? base.slice(1, 1, std::nullopt, 2) : base[2];
      std::vector<double> want;
      testing::for_each_index(view.sizes(), [&](const std::vector<int64_t>& idx) {
        want.push_back(clamp_ref(get(view, idx), round_to(dt, -1.0), 2.0));  // uint8: -1 is 255
      });
      Tensor& r = view.clamp_(-1, 2);
      CHECK(&r == &view);
      CHECK(view.dtype() == dt);
      check_base_after(base, before, view, want, 0.0, "clamp_ " + std::string(dtype_name(dt)));
      if (is_floating(dt)) {
        Tensor v2 = base.t();
        const std::vector<double> b2 = values(base);
        std::vector<double> w2;
        testing::for_each_index(v2.sizes(), [&](const std::vector<int64_t>& idx) {
          w2.push_back(clamp_ref(get(v2, idx), std::nullopt, 0.25));
        });
        v2.clamp_(std::nullopt, 0.25);
        check_base_after(base, b2, v2, w2, 0.0, "clamp_(max=0.25) " + std::string(dtype_name(dt)));
      }
    }
  }
  Tensor i = make_values({1, 5, 9}, I32);
  const std::string msg = error_message([&] { i.clamp_(2.5); });
  INFO(msg);
  CHECK(contains(msg, "clamp_"));
  CHECK(contains(msg, "can't be cast"));
  CHECK(values(i) == std::vector<double>{1, 5, 9});
  i.clamp_(2, 6);
  CHECK(values(i) == std::vector<double>{2, 5, 6});
  Tensor h = make_values({-1, 0.5, 3}, F16);
  h.clamp_(0, 1.5);
  CHECK(values(h) == std::vector<double>{0, 0.5, 1.5});
  CHECK(h.dtype() == F16);

  Tensor base = make_values({-2, 0, 2}, F32);
  Tensor e = base.view({1, 3}).expand({2, 3});
  CHECK(contains(error_message([&] { e.clamp_(-1, 1); }), "single memory location"));
  CHECK(contains(error_message([&] { e.clamp_(0); }), "single memory location"));
  CHECK(values(base) == std::vector<double>{-2, 0, 2});
}

TEST_CASE("masked_fill: every dtype, broadcast masks, in place on views") {
  std::mt19937 rng(113);
  const std::vector<Shape> mask_shapes = {{3, 4}, {4}, {3, 1}, {}, {1, 1}};
  for (DType dt : testing::all_dtypes()) {
    const std::string n(dtype_name(dt));
    std::vector<double> fills = {dt == kBool ? 1.0 : 7.0};
    if (is_floating(dt)) fills.push_back(-2.5);
    for (const Shape& ms : mask_shapes) {
      for (double fill : fills) {
        const Tensor x = random_tensor({3, 4}, dt, rng, Layout::Transposed);
        const std::vector<double> before = values(x);
        const Tensor mask = random_tensor(ms, kBool, rng, Layout::Strided);
        const Scalar value = dt == kBool ? Scalar(true) : fill == 7.0 ? Scalar(7) : Scalar(fill);
        std::vector<double> want;
        testing::for_each_index(x.sizes(), [&](const std::vector<int64_t>& idx) {
          want.push_back(get(mask, source_index(mask, idx)) != 0 ? round_to(dt, fill) : get(x, idx));
        });
        const std::string what = "masked_fill " + n + " mask " + shape_str(ms);
        const Tensor out = x.masked_fill(mask, value);
        CHECK(out.dtype() == dt);
        check_close(out, {3, 4}, want, 0.0, what);
        check_close(x, {3, 4}, before, 0.0, what + " leaves its input alone");
        Tensor y = x;
        Tensor& r = y.masked_fill_(mask, value);
        CHECK(&r == &y);
        check_close(x, {3, 4}, want, 0.0, what + " in place");
      }
    }
    // In place on a view writes into the base.
    const Tensor base = random_tensor({4, 6}, dt, rng);
    const std::vector<double> before = values(base);
    Tensor view = base.slice(1, 1, std::nullopt, 2).t();  // [3, 4]
    const Tensor mask = random_tensor({4}, kBool, rng);
    std::vector<double> want;
    testing::for_each_index(view.sizes(), [&](const std::vector<int64_t>& idx) {
      want.push_back(get(mask, {idx[1]}) != 0 ? 1.0 : get(view, idx));
    });
    view.masked_fill_(mask, dt == kBool ? Scalar(true) : Scalar(1));
    check_base_after(base, before, view, want, 0.0, "masked_fill_ on a view " + n);
  }
  {  // zero-size and 0-dim
    Tensor z = empty({0, 3});
    z.masked_fill_(make_values({1, 0, 1}, kBool), 1);
    CHECK(z.sizes().vec() == Shape{0, 3});
    Tensor s = make_values({5}, F32, Shape{});
    s.masked_fill_(make_values({1}, kBool, Shape{}), 2);
    CHECK(get(s, {}) == 2);
  }
  {  // the mask may be self
    Tensor m = make_values({1, 0, 1}, kBool);
    m.masked_fill_(m, false);
    CHECK(values(m) == std::vector<double>{0, 0, 0});
  }
  // Errors.
  Tensor x = zeros({3, 4});
  const std::string shape_msg = error_message([&] { x.masked_fill_(make_values({1, 0}, kBool, Shape{2, 1, 1}), 1); });
  INFO(shape_msg);
  CHECK(contains(shape_msg, "masked_fill_"));
  CHECK(contains(shape_msg, "[3, 4]"));
  CHECK(contains(error_message([&] { x.masked_fill_(make_values({1, 0, 1, 1}, I64), 1); }), "bool"));
  CHECK(contains(error_message([&] { (void)x.masked_fill(make_values({1, 0, 1}, kBool), 1); }), "masked_fill"));
  Tensor e = zeros({1, 4}).expand({3, 4});
  CHECK(contains(error_message([&] { e.masked_fill_(make_values({1, 0, 1, 1}, kBool), 1); }),
                 "single memory location"));
  CHECK(values(x) == std::vector<double>(12, 0.0));
}

TEST_CASE("isclose and allclose") {
  std::mt19937 rng(127);
  for (DType dt : testing::float_dtypes()) {
    const double rtol = dt == F16 ? 1e-2 : dt == BF16 ? 5e-2 : dt == F32 ? 1e-4 : 1e-8;
    const double atol = rtol / 10;
    const Tensor b = random_tensor({6, 5}, dt, rng, Layout::Transposed);
    const Tensor a = empty({6, 5}, {.dtype = dt});
    // a = b + delta, delta well inside or well outside the tolerance (far from the edge).
    std::uniform_int_distribution<int> pick(0, 4);
    testing::for_each_index(b.sizes(), [&](const std::vector<int64_t>& i) {
      const double v = get(b, i);
      const double tol = atol + rtol * std::abs(v);
      const double deltas[5] = {0.0, 0.2 * tol, -0.2 * tol, 5 * tol, -5 * tol};
      testing::set(a, i, v + deltas[pick(rng)]);
    });
    std::vector<double> want;
    testing::for_each_index(b.sizes(), [&](const std::vector<int64_t>& i) {
      want.push_back(std::abs(get(a, i) - get(b, i)) <= atol + rtol * std::abs(get(b, i)));
    });
    const Tensor close = isclose(a, b, rtol, atol);
    CHECK(close.dtype() == kBool);
    check_close(close, {6, 5}, want, 0.0, "isclose " + std::string(dtype_name(dt)));
    const bool all = std::all_of(want.begin(), want.end(), [](double w) { return w != 0; });
    CHECK(allclose(a, b, rtol, atol) == all);
    CHECK(allclose(b, b, rtol, atol));
    CHECK(allclose(a, a.clone()));

    // Infinities and NaN (PyTorch 1.13 results).
    const Tensor x = make_values({INFINITY, -INFINITY, 1, INFINITY, NAN, NAN, 1, -INFINITY}, dt);
    const Tensor y = make_values({INFINITY, INFINITY, INFINITY, 1, NAN, 1, NAN, -INFINITY}, dt);
    check_close(isclose(x, y), {8}, {1, 0, 0, 0, 0, 0, 0, 1}, 0.0, "isclose specials " + std::string(dtype_name(dt)));
    check_close(isclose(x, y, 1e-5, 1e-8, true), {8}, {1, 0, 0, 0, 1, 0, 0, 1}, 0.0,
                "isclose specials equal_nan " + std::string(dtype_name(dt)));
    check_close(isclose(x, y, 10.0, 10.0), {8}, {1, 0, 0, 0, 0, 0, 0, 1}, 0.0,
                "isclose specials, huge tolerance " + std::string(dtype_name(dt)));
    CHECK_FALSE(allclose(make_values({1, NAN}, dt), make_values({1, NAN}, dt)));
    CHECK(allclose(make_values({1, NAN}, dt), make_values({1, NAN}, dt), 1e-5, 1e-8, true));
  }
  // Broadcasting.
  CHECK(isclose(make_values({1, 2, 3, 1, 2, 3}, F32, Shape{2, 3}), make_values({1, 2, 3.5}, F32)).sizes().vec() ==
        Shape{2, 3});
  CHECK(allclose(make_values({1, 1, 1}, F32), make_values({1}, F32)));
  CHECK_FALSE(allclose(make_values({1, 2}, F32), make_values({1}, F32)));
  // Integers use the tolerances too (PyTorch 1.13: isclose(100, 101, rtol=0.1) is True).
  check_close(isclose(make_values({100, 5, 7, -100}, I64), make_values({101, 5, 9, -101}, I64), 0.1, 0.0), {4},
              {1, 1, 0, 1}, 0.0, "isclose int64 rtol");
  check_close(isclose(make_values({1, 2}, U8), make_values({2, 1}, U8), 0.0, 1.0), {2}, {1, 1}, 0.0,
              "isclose uint8 atol (no wrap-around in a - b)");
  check_close(isclose(make_values({250, 5}, U8), make_values({5, 250}, U8), 0.0, 10.0), {2}, {0, 0}, 0.0,
              "isclose uint8 far apart");
  check_close(isclose(make_values({1}, I64), make_values({2}, I64)), {1}, {0}, 0.0, "isclose int default tol");
  check_close(isclose(make_values({1, 0}, kBool), make_values({0, 0}, kBool), 0.0, 1.0), {2}, {1, 1}, 0.0,
              "isclose bool atol");
}

TEST_CASE("equal") {
  std::mt19937 rng(131);
  for (DType dt : testing::all_dtypes()) {
    const Tensor a = random_tensor({3, 4}, dt, rng, Layout::Transposed);
    const Tensor b = empty({3, 4}, {.dtype = dt});
    testing::for_each_index(a.sizes(), [&](const std::vector<int64_t>& i) { testing::set(b, i, get(a, i)); });
    CHECK(equal(a, b));
    CHECK(equal(b, a));
    // One element differs.
    testing::set(b, {2, 1}, get(a, {2, 1}) == 0 ? 1 : 0);
    CHECK_FALSE(equal(a, b));
    // Same values, different (broadcastable or transposed) shape.
    CHECK_FALSE(equal(a, a.view_as(a).reshape({1, 3, 4})));
    CHECK_FALSE(equal(a, a.t()));
  }
  CHECK(equal(make_values({1, 2, 3}, I64), make_values({1, 2, 3}, F32)));  // after promotion
  CHECK_FALSE(equal(make_values({1, NAN}, F32), make_values({1, NAN}, F32)));
  CHECK(equal(empty({0, 3}), empty({0, 3})));
  CHECK_FALSE(equal(empty({0, 3}), empty({3, 0})));
  CHECK(equal(make_values({2}, F64, Shape{}), make_values({2}, I8, Shape{})));
  CHECK_FALSE(equal(make_values({2}, F64, Shape{}), make_values({2}, F64)));
}
