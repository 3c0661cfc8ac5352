// Finite-difference checks (autograd::gradcheck) of views, copies and dtype conversion,
// linear algebra, indexing and joining, in-place ops on non-leaf tensors, non-contiguous
// leaves, and of gradcheck itself: functions whose recorded gradient is wrong must fail,
// with a message naming the input and element. Element-wise ops and reductions are in
// autograd_gradcheck_ops_test.cc.
#include <sstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

using autograd::GradcheckOptions;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
using MultiFn = autograd::Function;

const GradcheckOptions kFirstOrder{};
const GradcheckOptions kSecondOrder{.check_second_order = true};

template <typename... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

Tensor leaf(const Tensor& t) { return t.detach().contiguous().requires_grad_(); }

Tensor normal(IntArrayRef shape, Generator& g) { return leaf(randn(shape, {.dtype = kFloat64}, &g)); }

// |x| uniform in [lo, hi) with a random sign: away from 0.
Tensor away_from_zero(IntArrayRef shape, double lo, double hi, Generator& g) {
  const Tensor magnitude = rand(shape, {.dtype = kFloat64}, &g).mul(hi - lo).add(lo);
  const Tensor negative = rand(shape, {.dtype = kFloat64}, &g).lt(0.5);
  return leaf(where(negative, magnitude.neg(), magnitude));
}

// Values k * 0.5 + u, k a permutation of distinct integers, u in [0, 0.1): no ties.
Tensor spread(IntArrayRef shape, Generator& g) {
  const int64_t n = numel_of(shape);
  const Tensor k = randperm(n, {}, &g).to(kFloat64).sub(static_cast<double>(n / 2));
  const Tensor u = rand({n}, {.dtype = kFloat64}, &g).mul(0.1);
  return leaf(k.mul(0.5).add(u).reshape(shape));
}

Tensor index(std::vector<int64_t> values, Shape shape) { return from_vector(values, shape); }

void expect_gradcheck(const std::string& what, const Fn& f, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& options) {
  const std::string msg = error_message([&] { (void)autograd::gradcheck(f, inputs, options); });
  CHECK_MESSAGE(msg.empty(), what, ": ", msg);
}

void expect_gradcheck(const std::string& what, const MultiFn& f, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& options) {
  const std::string msg = error_message([&] { (void)autograd::gradcheck(f, inputs, options); });
  CHECK_MESSAGE(msg.empty(), what, ": ", msg);
}

// A function of the views of one input, with every part as its own output.
MultiFn parts(std::function<std::vector<Tensor>(const Tensor&)> split) {
  return [split](const std::vector<Tensor>& v) { return split(v[0]); };
}

}  // namespace

// ---- views and copies ----------------------------------------------------------------------

TEST_CASE("gradcheck: shape views (view, reshape, flatten, squeeze, unsqueeze)") {
  Generator g(11);
  const Tensor x = normal({2, 3, 4}, g);
  const std::vector<std::pair<const char*, Fn>> cases = {
      {"view [6,4]", [](const std::vector<Tensor>& v) { return v[0].view({6, 4}); }},
      {"view [-1]", [](const std::vector<Tensor>& v) { return v[0].view({-1}); }},
      {"view_as", [](const std::vector<Tensor>& v) { return v[0].view_as(v[0].detach().reshape({4, 6})); }},
      {"reshape [4,-1]", [](const std::vector<Tensor>& v) { return v[0].reshape({4, -1}); }},
      {"reshape of a transposed view (copies)", [](const std::vector<Tensor>& v) { return v[0].transpose(0, 2).reshape({-1}); }},
      {"flatten", [](const std::vector<Tensor>& v) { return v[0].flatten(); }},
      {"flatten(1)", [](const std::vector<Tensor>& v) { return v[0].flatten(1); }},
      {"flatten(0, 1)", [](const std::vector<Tensor>& v) { return v[0].flatten(0, 1); }},
      {"unsqueeze(0)", [](const std::vector<Tensor>& v) { return v[0].unsqueeze(0); }},
      {"unsqueeze(-1)", [](const std::vector<Tensor>& v) { return v[0].unsqueeze(-1); }},
      {"unsqueeze(2).squeeze(2)", [](const std::vector<Tensor>& v) { return v[0].unsqueeze(2).squeeze(2); }},
      {"squeeze(1) of a non-1 dim", [](const std::vector<Tensor>& v) { return v[0].squeeze(1); }},
      {"view then elementwise", [](const std::vector<Tensor>& v) { return v[0].view({6, 4}).exp().mul(v[0].view({6, 4})); }},
  };
  for (const auto& [name, f] : cases) expect_gradcheck(name, f, {x}, kFirstOrder);
  const Tensor y = normal({2, 1, 3, 1}, g);
  expect_gradcheck("squeeze()", [](const std::vector<Tensor>& v) { return v[0].squeeze(); }, {y}, kFirstOrder);
  expect_gradcheck("squeeze(1)", [](const std::vector<Tensor>& v) { return v[0].squeeze(1); }, {y}, kFirstOrder);
  expect_gradcheck("squeeze(-1)", [](const std::vector<Tensor>& v) { return v[0].squeeze(-1); }, {y}, kFirstOrder);
  expect_gradcheck("flatten of a 0-dim", [](const std::vector<Tensor>& v) { return v[0].flatten(); }, {normal({}, g)},
                   kFirstOrder);
}

TEST_CASE("gradcheck: permute, transpose, t, expand") {
  Generator g(12);
  const Tensor x = normal({2, 3, 4}, g);
  expect_gradcheck("permute(2, 0, 1)", [](const std::vector<Tensor>& v) { return v[0].permute({2, 0, 1}); }, {x},
                   kFirstOrder);
  expect_gradcheck("permute(-1, 1, 0)", [](const std::vector<Tensor>& v) { return v[0].permute({-1, 1, 0}); }, {x},
                   kFirstOrder);
  expect_gradcheck("transpose(0, 2)", [](const std::vector<Tensor>& v) { return v[0].transpose(0, 2); }, {x},
                   kFirstOrder);
  expect_gradcheck("transpose(-1, -2) times itself",
                   [](const std::vector<Tensor>& v) { return v[0].transpose(-1, -2).mul(v[0].transpose(1, 2)); }, {x},
                   kSecondOrder);
  const Tensor m = normal({3, 4}, g);
  expect_gradcheck("t()", [](const std::vector<Tensor>& v) { return v[0].t(); }, {m}, kFirstOrder);
  expect_gradcheck("t() of 1-D", [](const std::vector<Tensor>& v) { return v[0].t().mul(2); }, {normal({3}, g)},
                   kFirstOrder);
  const Tensor c = normal({3, 1}, g);
  expect_gradcheck("expand [3,1] -> [2,3,4]", [](const std::vector<Tensor>& v) { return v[0].expand({2, 3, 4}); }, {c},
                   kFirstOrder);
  expect_gradcheck("expand(-1, 4)", [](const std::vector<Tensor>& v) { return v[0].expand({-1, 4}); }, {c},
                   kFirstOrder);
  expect_gradcheck("expand_as", [&](const std::vector<Tensor>& v) { return v[0].expand_as(x.detach()); }, {c},
                   kFirstOrder);
  expect_gradcheck("expand of a 0-dim", [](const std::vector<Tensor>& v) { return v[0].expand({2, 2}); },
                   {normal({}, g)}, kFirstOrder);
  expect_gradcheck("expand then multiply",
                   [](const std::vector<Tensor>& v) { return v[0].expand({3, 4}).mul(v[1]); }, {c, m}, kSecondOrder);
}

TEST_CASE("gradcheck: narrow, slice with step, select, slice_scatter") {
  Generator g(13);
  const Tensor x = normal({3, 5, 2}, g);
  const std::vector<std::pair<const char*, Fn>> cases = {
      {"narrow(1, 1, 3)", [](const std::vector<Tensor>& v) { return v[0].narrow(1, 1, 3); }},
      {"narrow(-1, 1, 1)", [](const std::vector<Tensor>& v) { return v[0].narrow(-1, 1, 1); }},
      {"narrow with negative start", [](const std::vector<Tensor>& v) { return v[0].narrow(0, -2, 2); }},
      {"slice(1, 0, end, 2)", [](const std::vector<Tensor>& v) { return v[0].slice(1, 0, std::nullopt, 2); }},
      {"slice(1, 1, 5, 3)", [](const std::vector<Tensor>& v) { return v[0].slice(1, 1, 5, 3); }},
      {"slice(0, -2)", [](const std::vector<Tensor>& v) { return v[0].slice(0, -2); }},
      {"slice of a slice", [](const std::vector<Tensor>& v) { return v[0].slice(1, 1, std::nullopt, 2).slice(0, 0, 3, 2); }},
      {"select(1, -1)", [](const std::vector<Tensor>& v) { return v[0].select(1, -1); }},
      {"select(0, 1)", [](const std::vector<Tensor>& v) { return v[0].select(0, 1); }},
      {"operator[]", [](const std::vector<Tensor>& v) { return v[0][2][1]; }},
      {"overlapping slices combined",
       [](const std::vector<Tensor>& v) { return v[0].narrow(1, 0, 3).mul(v[0].narrow(1, 2, 3)); }},
  };
  for (const auto& [name, f] : cases) expect_gradcheck(name, f, {x}, kFirstOrder);
  expect_gradcheck("slice second order", [](const std::vector<Tensor>& v) { return v[0].slice(1, 0, std::nullopt, 2).square(); },
                   {x}, kSecondOrder);
  const Tensor src = normal({3, 2, 2}, g);
  expect_gradcheck("slice_scatter", [](const std::vector<Tensor>& v) { return slice_scatter(v[0], {3, 5, 2}, 1, 1, 5, 2); },
                   {src}, kFirstOrder);
  expect_gradcheck("slice_scatter second order",
                   [](const std::vector<Tensor>& v) { return slice_scatter(v[0].exp(), {3, 5, 2}, 1, 0, 4, 2); }, {src},
                   kSecondOrder);
}

TEST_CASE("gradcheck: split, chunk, unbind (every part an output)") {
  Generator g(14);
  const Tensor x = normal({4, 5}, g);
  expect_gradcheck("split(2, 1)", parts([](const Tensor& t) { return t.split(2, 1); }), {x}, kFirstOrder);
  expect_gradcheck("split(3, 0)", parts([](const Tensor& t) { return t.split(3, 0); }), {x}, kFirstOrder);
  expect_gradcheck("split_with_sizes", parts([](const Tensor& t) { return t.split_with_sizes({1, 3, 1}, -1); }), {x},
                   kFirstOrder);
  expect_gradcheck("chunk(3, 1)", parts([](const Tensor& t) { return t.chunk(3, 1); }), {x}, kFirstOrder);
  expect_gradcheck("chunk(2, 0)", parts([](const Tensor& t) { return t.chunk(2, 0); }), {x}, kFirstOrder);
  expect_gradcheck("unbind(0)", parts([](const Tensor& t) { return t.unbind(0); }), {x}, kFirstOrder);
  expect_gradcheck("unbind(-1)", parts([](const Tensor& t) { return t.unbind(-1); }), {x}, kFirstOrder);
  // Only some parts used.
  expect_gradcheck("one part of a split, squared", [](const std::vector<Tensor>& v) { return v[0].split(2, 1)[1].square(); },
                   {x}, kSecondOrder);
  expect_gradcheck("unbind parts recombined", [](const std::vector<Tensor>& v) {
    auto rows = v[0].unbind(0);
    return rows[0].mul(rows[3]).add(rows[1].exp());
  }, {x}, kSecondOrder);
}

TEST_CASE("gradcheck: contiguous, clone, to(dtype)") {
  Generator g(15);
  const Tensor x = normal({3, 4}, g);
  expect_gradcheck("contiguous of a transposed view", [](const std::vector<Tensor>& v) {
    const Tensor c = v[0].t().contiguous();
    REQUIRE(c.is_contiguous());
    return c;
  }, {x}, kFirstOrder);
  expect_gradcheck("contiguous of a step slice",
                   [](const std::vector<Tensor>& v) { return v[0].slice(1, 0, std::nullopt, 2).contiguous().exp(); }, {x},
                   kSecondOrder);
  expect_gradcheck("contiguous of a contiguous tensor", [](const std::vector<Tensor>& v) { return v[0].contiguous().mul(3); },
                   {x}, kFirstOrder);
  expect_gradcheck("clone", [](const std::vector<Tensor>& v) { return v[0].clone(); }, {x}, kFirstOrder);
  expect_gradcheck("clone then square", [](const std::vector<Tensor>& v) { return v[0].clone().square(); }, {x},
                   kSecondOrder);
  expect_gradcheck("to(float64) of float64", [](const std::vector<Tensor>& v) { return v[0].to(kFloat64).mul(2); }, {x},
                   kFirstOrder);
  expect_gradcheck("to(float64, copy)", [](const std::vector<Tensor>& v) { return v[0].to(kFloat64, true); }, {x},
                   kFirstOrder);
  // Through float32 and back: rounding to float32 (~6e-8 relative) makes eps = 1e-6 useless,
  // so this one uses a larger eps and tolerances (the functions are smooth: the central
  // difference's O(eps^2) error stays far below them).
  const GradcheckOptions through_float32{.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2};
  expect_gradcheck("to(float32).to(float64)", [](const std::vector<Tensor>& v) { return v[0].to(kFloat32).to(kFloat64); },
                   {x}, through_float32);
  expect_gradcheck("exp in float32", [](const std::vector<Tensor>& v) { return v[0].to(kFloat32).exp().to(kFloat64); },
                   {x}, through_float32);
  expect_gradcheck("float32 sum, float64 product", [](const std::vector<Tensor>& v) {
    return v[0].to(kFloat32).sum({1}).to(kFloat64).mul(v[0].select(1, 0));
  }, {x}, through_float32);
  // Mixed dtypes promote to float64: the float32 operand's gradient is cast back.
  const Tensor f32 = randn({4}, {}, &g);
  expect_gradcheck("float64 * float32 constant", [&](const std::vector<Tensor>& v) { return v[0].mul(f32); }, {x},
                   kFirstOrder);
}

// ---- linear algebra ------------------------------------------------------------------------

TEST_CASE("gradcheck: matmul in every rank combination") {
  Generator g(21);
  struct Case {
    const char* name;
    Shape a, b;
  };
  const std::vector<Case> cases = {
      {"1-D . 1-D", {4}, {4}},
      {"1-D . 2-D", {4}, {4, 3}},
      {"2-D . 1-D", {3, 4}, {4}},
      {"2-D . 2-D", {3, 4}, {4, 2}},
      {"batched, broadcast batch dims", {2, 1, 2, 3}, {2, 3, 2}},
      {"batched . 2-D", {2, 3, 4}, {4, 2}},
      {"1-D . batched", {3}, {2, 3, 2}},
      {"batched . 1-D", {2, 2, 3}, {3}},
  };
  for (const Case& c : cases) {
    const Tensor a = normal(c.a, g), b = normal(c.b, g);
    expect_gradcheck(str("matmul ", c.name), [](const std::vector<Tensor>& v) { return v[0].matmul(v[1]); }, {a, b},
                     kSecondOrder);
  }
  // Transposed operands (views with a unit row stride, passed to the GEMM as they are).
  const Tensor a = normal({4, 3}, g), b = normal({2, 4}, g);
  expect_gradcheck("a.t() @ b.t()", [](const std::vector<Tensor>& v) { return v[0].t().matmul(v[1].t()); }, {a, b},
                   kSecondOrder);
  expect_gradcheck("batched transpose", [](const std::vector<Tensor>& v) { return matmul(v[0].transpose(-1, -2), v[1]); },
                   {normal({2, 4, 3}, g), normal({2, 4, 2}, g)}, kSecondOrder);
  expect_gradcheck("x @ x.t()", [](const std::vector<Tensor>& v) { return v[0].matmul(v[0].t()); }, {a}, kSecondOrder);
  expect_gradcheck("one operand constant", [&](const std::vector<Tensor>& v) { return v[0].matmul(b.detach().t()); },
                   {a.detach().t().contiguous().requires_grad_()}, kSecondOrder);
}

TEST_CASE("gradcheck: mm, bmm, addmm, linear") {
  Generator g(22);
  const Tensor m1 = normal({3, 4}, g), m2 = normal({4, 2}, g);
  expect_gradcheck("mm", [](const std::vector<Tensor>& v) { return v[0].mm(v[1]); }, {m1, m2}, kSecondOrder);
  expect_gradcheck("mm free function", [](const std::vector<Tensor>& v) { return mm(v[0], v[1]).square(); }, {m1, m2},
                   kSecondOrder);
  expect_gradcheck("bmm", [](const std::vector<Tensor>& v) { return bmm(v[0], v[1]); },
                   {normal({2, 3, 4}, g), normal({2, 4, 2}, g)}, kSecondOrder);
  const Tensor input = normal({3, 2}, g), row = normal({2}, g);
  expect_gradcheck("addmm", [](const std::vector<Tensor>& v) { return addmm(v[0], v[1], v[2]); }, {input, m1, m2},
                   kSecondOrder);
  expect_gradcheck("addmm beta 0.5 alpha 2", [](const std::vector<Tensor>& v) { return addmm(v[0], v[1], v[2], 0.5, 2.0); },
                   {input, m1, m2}, kSecondOrder);
  expect_gradcheck("addmm broadcast input, beta -1", [](const std::vector<Tensor>& v) { return addmm(v[0], v[1], v[2], -1); },
                   {row, m1, m2}, kSecondOrder);
  expect_gradcheck("addmm beta 0 (input unused)",
                   [](const std::vector<Tensor>& v) { return addmm(v[0], v[1], v[2], 0.0, 1.5); }, {input, m1, m2},
                   kSecondOrder);
  const Tensor x = normal({3, 4}, g), w = normal({2, 4}, g), bias = normal({2}, g);
  expect_gradcheck("linear with bias", [](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                   {x, w, bias}, kSecondOrder);
  expect_gradcheck("linear without bias", [](const std::vector<Tensor>& v) { return linear(v[0], v[1]); }, {x, w},
                   kSecondOrder);
  expect_gradcheck("linear, 3-D input", [](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                   {normal({2, 3, 4}, g), w, bias}, kSecondOrder);
  expect_gradcheck("linear, 1-D input", [](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                   {normal({4}, g), w, bias}, kFirstOrder);
  expect_gradcheck("two layers", [](const std::vector<Tensor>& v) {
    return linear(linear(v[0], v[1], v[2]).tanh(), v[1].matmul(v[1].t()));
  }, {x, w, bias}, kSecondOrder);
}

// ---- indexing and joining ------------------------------------------------------------------

TEST_CASE("gradcheck: gather, scatter, scatter_add, index_select, index_add") {
  Generator g(31);
  const Tensor x = normal({3, 4}, g);
  // Repeated indices: gather's backward must accumulate.
  const Tensor idx1 = index({0, 3, 3, 1, 2, 2, 0, 0, 1}, {3, 3});
  const Tensor idx0 = index({2, 0, 1, 2, 2, 2, 0, 1}, {2, 4});
  expect_gradcheck("gather dim 1", [&](const std::vector<Tensor>& v) { return v[0].gather(1, idx1); }, {x}, kFirstOrder);
  expect_gradcheck("gather dim 0", [&](const std::vector<Tensor>& v) { return v[0].gather(0, idx0); }, {x}, kFirstOrder);
  expect_gradcheck("gather dim -1 of exp, second order",
                   [&](const std::vector<Tensor>& v) { return v[0].exp().gather(-1, idx1).square(); }, {x}, kSecondOrder);

  // scatter with a tensor source: positions unique per column (duplicates would leave the
  // winner unspecified).
  const Tensor unique0 = index({0, 2, 1, 0, 2, 1, 0, 1}, {2, 4});
  const Tensor src = normal({2, 4}, g);
  expect_gradcheck("scatter dim 0 (self and src)", [&](const std::vector<Tensor>& v) { return v[0].scatter(0, unique0, v[1]); },
                   {x, src}, kFirstOrder);
  const Tensor unique1 = index({3, 0, 1, 2, 0, 3}, {3, 2});
  const Tensor src1 = normal({3, 3}, g);  // larger than the index: only its [3,2] corner is read
  expect_gradcheck("scatter dim 1, larger src", [&](const std::vector<Tensor>& v) { return v[0].scatter(1, unique1, v[1]); },
                   {x, src1}, kFirstOrder);
  expect_gradcheck("scatter a number", [&](const std::vector<Tensor>& v) { return v[0].scatter(0, unique0, Scalar(0.5)); },
                   {x}, kFirstOrder);
  expect_gradcheck("scatter second order",
                   [&](const std::vector<Tensor>& v) { return v[0].square().scatter(0, unique0, v[1].exp()); }, {x, src},
                   kSecondOrder);

  // scatter_add: duplicates accumulate.
  expect_gradcheck("scatter_add dim 0", [&](const std::vector<Tensor>& v) { return v[0].scatter_add(0, idx0, v[1]); },
                   {x, src}, kFirstOrder);
  expect_gradcheck("scatter_add dim 1", [&](const std::vector<Tensor>& v) { return v[0].scatter_add(1, idx1, v[1]); },
                   {x, src1}, kFirstOrder);
  expect_gradcheck("scatter_add dim 0, larger src", [&](const std::vector<Tensor>& v) { return v[0].scatter_add(0, idx0, v[1]); },
                   {x, normal({3, 5}, g)}, kFirstOrder);
  expect_gradcheck("scatter dim 1, larger src, second order",
                   [&](const std::vector<Tensor>& v) { return v[0].scatter(1, unique1, v[1].square()).exp(); }, {x, src1},
                   kSecondOrder);
  expect_gradcheck("scatter_add second order",
                   [&](const std::vector<Tensor>& v) { return v[0].scatter_add(0, idx0, v[1].square()).exp(); }, {x, src},
                   kSecondOrder);

  const Tensor rows = index({2, 0, 2}, {3});
  expect_gradcheck("index_select dim 0", [&](const std::vector<Tensor>& v) { return v[0].index_select(0, rows); }, {x},
                   kFirstOrder);
  expect_gradcheck("index_select dim 1", [&](const std::vector<Tensor>& v) { return v[0].index_select(1, index({3, 1}, {2})); },
                   {x}, kFirstOrder);
  expect_gradcheck("index_select second order",
                   [&](const std::vector<Tensor>& v) { return v[0].index_select(-1, index({1, 1, 0}, {3})).sin(); }, {x},
                   kSecondOrder);

  const Tensor source = normal({3, 4}, g);
  expect_gradcheck("index_add dim 0", [&](const std::vector<Tensor>& v) { return v[0].index_add(0, rows, v[1]); },
                   {x, source}, kFirstOrder);
  expect_gradcheck("index_add alpha 2.5", [&](const std::vector<Tensor>& v) { return v[0].index_add(0, rows, v[1], 2.5); },
                   {x, source}, kFirstOrder);
  expect_gradcheck("index_add dim 1, alpha -1",
                   [&](const std::vector<Tensor>& v) { return v[0].index_add(1, index({0, 0}, {2}), v[1], -1); },
                   {x, normal({3, 2}, g)}, kFirstOrder);
  expect_gradcheck("index_add second order",
                   [&](const std::vector<Tensor>& v) { return v[0].index_add(0, rows, v[1].square(), 0.5).exp(); },
                   {x, source}, kSecondOrder);
}

TEST_CASE("gradcheck: cat and stack") {
  Generator g(32);
  const Tensor a = normal({2, 3}, g), b = normal({1, 3}, g), c = normal({2, 1}, g), d = normal({2, 2}, g);
  expect_gradcheck("cat dim 0, different sizes", [](const std::vector<Tensor>& v) { return cat({v[0], v[1]}, 0); }, {a, b},
                   kFirstOrder);
  expect_gradcheck("cat dim 1, three inputs", [](const std::vector<Tensor>& v) { return cat({v[0], v[1], v[2]}, 1); },
                   {c, a, d}, kFirstOrder);
  expect_gradcheck("cat dim -1, same tensor twice", [](const std::vector<Tensor>& v) { return cat({v[0], v[0].exp()}, -1); },
                   {a}, kSecondOrder);
  const Tensor empty1d = zeros({0}, {.dtype = kFloat64});
  expect_gradcheck("cat with a skipped empty 1-D tensor",
                   [&](const std::vector<Tensor>& v) { return cat({v[0], empty1d, v[1]}, 0); }, {a, b}, kFirstOrder);
  expect_gradcheck("cat with a constant", [&](const std::vector<Tensor>& v) { return cat({b.detach(), v[0]}, 0).square(); },
                   {a}, kSecondOrder);
  expect_gradcheck("cat of 1-D", [](const std::vector<Tensor>& v) { return cat({v[0], v[1]}); }, {normal({3}, g), normal({2}, g)},
                   kFirstOrder);
  const Tensor e = normal({2, 3}, g);
  for (int64_t dim : {0, 1, 2, -1}) {
    expect_gradcheck(str("stack dim ", dim), [&](const std::vector<Tensor>& v) { return stack({v[0], v[1]}, dim); }, {a, e},
                     kFirstOrder);
  }
  expect_gradcheck("stack second order", [](const std::vector<Tensor>& v) { return stack({v[0].square(), v[1], v[0]}, 1); },
                   {a, e}, kSecondOrder);
}

TEST_CASE("gradcheck: topk and sort values, without ties") {
  Generator g(33);
  const Tensor x = spread({3, 5}, g);
  for (bool largest : {true, false}) {
    expect_gradcheck(str("topk k=2 dim -1 largest=", largest),
                     [&](const std::vector<Tensor>& v) { return std::get<0>(v[0].topk(2, -1, largest)); }, {x}, kFirstOrder);
    expect_gradcheck(str("topk k=2 dim 0 largest=", largest),
                     [&](const std::vector<Tensor>& v) { return std::get<0>(v[0].topk(2, 0, largest)); }, {x}, kFirstOrder);
  }
  expect_gradcheck("topk k=5 (all)", [](const std::vector<Tensor>& v) { return std::get<0>(v[0].topk(5)); }, {x},
                   kFirstOrder);
  expect_gradcheck("topk values and indices", MultiFn([](const std::vector<Tensor>& v) {
                     auto [values, indices] = v[0].topk(3, 1);
                     return std::vector<Tensor>{values, indices};
                   }), {x}, kFirstOrder);
  expect_gradcheck("sort dim -1", [](const std::vector<Tensor>& v) { return std::get<0>(v[0].sort()); }, {x}, kFirstOrder);
  expect_gradcheck("sort dim 0 descending", [](const std::vector<Tensor>& v) { return std::get<0>(v[0].sort(0, true)); },
                   {x}, kFirstOrder);
  expect_gradcheck("sort of 1-D", [](const std::vector<Tensor>& v) { return std::get<0>(v[0].sort(0)); }, {spread({6}, g)},
                   kFirstOrder);
  expect_gradcheck("topk of squares, second order",
                   [](const std::vector<Tensor>& v) { return std::get<0>(v[0].exp().topk(2)).square(); }, {x}, kSecondOrder);
}

// ---- in-place ops on non-leaf tensors ------------------------------------------------------

TEST_CASE("gradcheck: in-place ops on a non-leaf copy") {
  Generator g(41);
  const Tensor x = normal({3, 4}, g), y = normal({3, 4}, g);
  expect_gradcheck("add_, mul_, exp_", [](const std::vector<Tensor>& v) {
    Tensor t = v[0].clone();
    t.add_(v[1], 0.5);
    t.mul_(v[1]);
    t.exp_();
    return t;
  }, {x, y}, kSecondOrder);
  expect_gradcheck("sub_, div_, tanh_, sigmoid_", [](const std::vector<Tensor>& v) {
    Tensor t = v[0].mul(1.0);
    t.sub_(2.0);
    t.div_(v[1].exp());
    t.tanh_();
    t.sigmoid_();
    return t;
  }, {x, y}, kSecondOrder);
  expect_gradcheck("neg_, abs_, relu_, log_, sqrt_, pow_", [](const std::vector<Tensor>& v) {
      Tensor t = v[0].mul(v[1]).add(0.05);  // |v0 * v1| >= 0.25: t stays away from 0
    t.neg_();
    Tensor u = t.clone();
    u.relu_();
    t.abs_();
    t.log_();
    t.exp_();
    t.sqrt_();
    t.pow_(3);
    return t.add(u);
  }, {leaf(x.detach().abs().add(0.5)), away_from_zero({3, 4}, 0.5, 1.5, g)}, kSecondOrder);
  expect_gradcheck("clamp_", [](const std::vector<Tensor>& v) {
    Tensor t = v[0].mul(2);
    t.clamp_(-1.5, 2.5);  // 2 * spread() stays 0.3 away from odd multiples of 0.5
    return t;
  }, {spread({3, 4}, g)}, kSecondOrder);
  expect_gradcheck("copy_ from another tensor", [](const std::vector<Tensor>& v) {
    Tensor t = v[0].exp();
    t.copy_(v[1].square());
    return t;
  }, {x, y}, kSecondOrder);
  expect_gradcheck("fill_ then add", [](const std::vector<Tensor>& v) {
    Tensor t = v[0].clone();
    t.fill_(2.0);
    return t.add(v[0].square());
  }, {x}, kSecondOrder);
  const Tensor mask = from_vector(std::vector<bool>{true, false, true, false}, Shape{4});
  expect_gradcheck("masked_fill_, scatter_, index_add_", [&](const std::vector<Tensor>& v) {
    Tensor t = v[0].clone();
    t.masked_fill_(mask, -1.0);
    t.scatter_(1, index({0, 1, 2}, {3, 1}), v[1].narrow(1, 0, 1));
    t.index_add_(0, index({1, 1}, {2}), v[1].narrow(0, 0, 2), 2.0);
    return t;
  }, {x, y}, kFirstOrder);
}

// ---- non-contiguous leaves -----------------------------------------------------------------

TEST_CASE("gradcheck: non-contiguous float64 leaves (transposed and step-sliced)") {
  Generator g(51);
  // Leaves that are views of a bigger buffer: the gradient must come back in their shape.
  const Tensor tr = randn({4, 3}, {.dtype = kFloat64}, &g).t().requires_grad_();  // [3,4], strides [1,3]
  const Tensor st = randn({3, 8}, {.dtype = kFloat64}, &g).slice(1, 0, std::nullopt, 2).requires_grad_();  // [3,4]
  const Tensor st2 = randn({8, 2}, {.dtype = kFloat64}, &g).slice(0, 1, std::nullopt, 2).requires_grad_();  // [4,2]
  REQUIRE_FALSE(tr.is_contiguous());
  REQUIRE_FALSE(st.is_contiguous());
  REQUIRE_FALSE(st2.is_contiguous());
  REQUIRE(tr.is_leaf());
  REQUIRE(st.is_leaf());
  const Tensor idx = index({0, 3, 3, 1, 2, 2}, {3, 2});
  expect_gradcheck("add", [](const std::vector<Tensor>& v) { return v[0].add(v[1], 2); }, {tr, st}, kSecondOrder);
  expect_gradcheck("mul", [](const std::vector<Tensor>& v) { return v[0].mul(v[1]); }, {tr, st}, kSecondOrder);
  expect_gradcheck("exp", [](const std::vector<Tensor>& v) { return v[0].exp(); }, {tr}, kSecondOrder);
  expect_gradcheck("exp strided", [](const std::vector<Tensor>& v) { return v[0].exp(); }, {st}, kSecondOrder);
  expect_gradcheck("sum dim 0", [](const std::vector<Tensor>& v) { return v[0].sum({0}); }, {tr}, kSecondOrder);
  expect_gradcheck("sum all of squares", [](const std::vector<Tensor>& v) { return v[0].square().sum(); }, {st},
                   kSecondOrder);
  expect_gradcheck("matmul", [](const std::vector<Tensor>& v) { return v[0].matmul(v[1]); }, {tr, st2}, kSecondOrder);
  expect_gradcheck("matmul step-sliced left", [](const std::vector<Tensor>& v) { return v[0].matmul(v[1]); }, {st, st2},
                   kSecondOrder);
  expect_gradcheck("gather", [&](const std::vector<Tensor>& v) { return v[0].gather(1, idx); }, {tr}, kFirstOrder);
  expect_gradcheck("gather strided", [&](const std::vector<Tensor>& v) { return v[0].gather(1, idx); }, {st}, kFirstOrder);
  expect_gradcheck("softmax", [](const std::vector<Tensor>& v) { return v[0].softmax(0); }, {tr}, kFirstOrder);
}

// ---- gradcheck catches wrong gradients -----------------------------------------------------

TEST_CASE("gradcheck fails, naming the input and element, when part of the graph is detached") {
  Generator g(61);
  const Tensor x = normal({4}, g);
  // Elements 0..1 go through recorded ops, 2..3 through a detached copy: the first wrong
  // Jacobian column is element 2's.
  const Fn partly_detached = [](const std::vector<Tensor>& v) {
    return cat({v[0].narrow(0, 0, 2).exp(), v[0].detach().narrow(0, 2, 2).exp()});
  };
  std::string msg = error_message([&] { (void)autograd::gradcheck(partly_detached, {x}); });
  CHECK(contains(msg, "gradcheck"));
  CHECK(contains(msg, "with respect to input 0 element 2"));
  CHECK(contains(msg, "output 0 element 2"));
  CHECK(contains(msg, "analytical 0"));
  // The same without the detach passes.
  expect_gradcheck("not detached", [](const std::vector<Tensor>& v) { return v[0].exp(); }, {x}, kFirstOrder);

  // x * x.detach(): autograd sees x * c, finite differences see x^2.
  msg = error_message([&] { (void)autograd::gradcheck([](const std::vector<Tensor>& v) { return v[0].mul(v[0].detach()); }, {x}); });
  CHECK(contains(msg, "with respect to input 0 element 0"));

  // The second input detached: the report names input 1.
  const Tensor y = normal({4}, g);
  msg = error_message([&] {
    (void)autograd::gradcheck([](const std::vector<Tensor>& v) { return v[0].add(v[1].detach().sin()); }, {x, y});
  });
  CHECK(contains(msg, "with respect to input 1 element 0"));
  // Likewise in a second output.
  msg = error_message([&] {
    (void)autograd::gradcheck(MultiFn([](const std::vector<Tensor>& v) {
                                return std::vector<Tensor>{v[0].exp(), v[0].mul(v[1].detach())};
                              }),
                              {x, y});
  });
  CHECK(contains(msg, "output 1 element 0 with respect to input 1 element 0"));
}

TEST_CASE("gradcheck fails when a hook corrupts a gradient, or only the second order is wrong") {
  Generator g(62);
  const Tensor x = normal({3}, g);
  // A hook that triples the gradient of an intermediate.
  const Fn tripled = [](const std::vector<Tensor>& v) {
    Tensor y = v[0].mul(2);
    if (y.requires_grad()) y.register_hook([](const Tensor& grad) { return grad.mul(3); });
    return y.sin();
  };
  std::string msg = error_message([&] { (void)autograd::gradcheck(tripled, {x}); });
  CHECK(contains(msg, "Jacobian mismatch for output 0 element 0 with respect to input 0 element 0"));

  // A hook that detaches the incoming gradient: first derivatives stay right, their own
  // derivatives are lost. Only the second-order check notices. (y itself is freed when f
  // returns: its hook lives on on y's grad_fn. gradcheck also calls f under NoGradGuard, to
  // size the second order's weights: no hook then.)
  const Fn detached_gradient = [](const std::vector<Tensor>& v) {
    Tensor y = v[0].mul(1.0);
    if (y.requires_grad()) y.register_hook([](const Tensor& grad) { return grad.detach(); });
    return y.exp();
  };
  expect_gradcheck("first order unaffected", detached_gradient, {x}, kFirstOrder);
  msg = error_message([&] { (void)autograd::gradcheck(detached_gradient, {x}, kSecondOrder); });
  CHECK(contains(msg, "with respect to input 0 element 0"));
  CHECK(contains(msg, "analytical 0"));

  // Tolerances are honoured: a 1e-4 relative error passes rtol 1e-3 and fails rtol 1e-5.
  const Fn slightly_off = [](const std::vector<Tensor>& v) {
    Tensor y = v[0].mul(1.0);
    if (y.requires_grad()) y.register_hook([](const Tensor& grad) { return grad.mul(1.0001); });
    return y.mul(10);
  };
  expect_gradcheck("within rtol", slightly_off, {x}, kFirstOrder);
  msg = error_message([&] { (void)autograd::gradcheck(slightly_off, {x}, {.atol = 0, .rtol = 1e-5}); });
  CHECK(contains(msg, "Jacobian mismatch"));
}

TEST_CASE("gradcheck rejects float32 inputs and functions of no differentiable input") {
  Generator g(63);
  const Tensor x32 = randn({3}, {}, &g).requires_grad_();
  std::string msg = error_message([&] { (void)autograd::gradcheck([](const std::vector<Tensor>& v) { return v[0].exp(); }, {x32}); });
  CHECK(contains(msg, "float64"));
  const Tensor constant = randn({3}, {.dtype = kFloat64}, &g);
  msg = error_message([&] { (void)autograd::gradcheck([](const std::vector<Tensor>& v) { return v[0].exp(); }, {constant}); });
  CHECK(contains(msg, "no input requires grad"));
}

TEST_CASE("gradcheck frees every graph it builds, saved outputs included") {
  // Ops that save their output (exp, tanh, prod, ...) once kept it with its history, a
  // reference cycle node -> output -> node that leaked every graph backward did not free
  // (never differentiated, or retained as gradcheck does). Track the nodes f creates.
  Generator g(64);
  std::vector<std::weak_ptr<Node>> nodes;
  const Fn f = [&nodes](const std::vector<Tensor>& v) {
    const Tensor y = v[0].exp().tanh().prod(1);
    if (y.requires_grad()) nodes.push_back(y.grad_fn());
    return y;
  };
  expect_gradcheck("exp, tanh, prod", f, {normal({2, 3}, g)}, kSecondOrder);
  REQUIRE_FALSE(nodes.empty());
  size_t alive = 0;
  for (const auto& n : nodes) alive += n.expired() ? 0 : 1;
  CHECK(alive == 0);
  // The plain case: a graph that is never differentiated.
  std::weak_ptr<Node> node;
  {
    const Tensor y = normal({3}, g).sigmoid();
    node = y.grad_fn();
    REQUIRE_FALSE(node.expired());
  }
  CHECK(node.expired());
}

// In-place ops on views rewrite the base's history (PyTorch's CopySlices): gradients through
// the base, the view and other views of the same base are those of the out-of-place program.
TEST_CASE("gradcheck: in-place ops on views of recorded tensors") {
  Generator gen(7);
  const Tensor x = normal({4, 3}, gen);
  const Tensor y = normal({3}, gen);
  // Rows of a non-leaf scaled in place, then the whole base used.
  expect_gradcheck("narrow().mul_()", [](const std::vector<Tensor>& v) {
    Tensor base = v[0].mul(1.5);
    base.narrow(0, 1, 2).mul_(v[0].narrow(0, 0, 2).sin());
    return base.exp().sum();
  }, {x}, kSecondOrder);
  // Writing a tensor that requires grad into a buffer that does not (torch: buf[1] = y).
  expect_gradcheck("select().copy_() into a constant buffer", [](const std::vector<Tensor>& v) {
    Tensor buf = zeros({4, 3}, {.dtype = kFloat64});
    buf.select(0, 1).copy_(v[1]);
    buf.select(0, 3).copy_(v[1].mul(v[1]));
    return buf.mul(v[0]).sum();
  }, {x, y}, kFirstOrder);
  // A view taken before the base changed through another view follows the new values.
  expect_gradcheck("stale view follows its base", [](const std::vector<Tensor>& v) {
    Tensor base = v[0].mul(2);
    Tensor col = base.select(1, 0);  // taken first
    base.t().narrow(0, 0, 1).add_(v[0].t().narrow(0, 2, 1));  // then column 0 changes
    return col.square().sum().add(base.sum());
  }, {x}, kSecondOrder);
  // The base itself changed in place: its earlier views follow too.
  expect_gradcheck("view of a base changed in place", [](const std::vector<Tensor>& v) {
    Tensor base = v[0].mul(1);
    Tensor row = base.select(0, 2);
    base.mul_(3);
    return row.exp().sum();
  }, {x}, kFirstOrder);
}

TEST_CASE("in-place ops on views: values, version errors and refusals") {
  // The base holds the written values, and backward gives the out-of-place program's numbers.
  Tensor w = tensor<double>({1, 2, 3}).requires_grad_();
  Tensor buf = zeros({2, 3}, {.dtype = kFloat64});
  buf.select(0, 1).copy_(w.mul(2));
  CHECK(values(buf) == std::vector<double>({0, 0, 0, 2, 4, 6}));
  CHECK(buf.requires_grad());
  buf.mul(tensor<double>({{1, 1, 1}, {1, 10, 100}})).sum().backward();
  CHECK(values(w.grad()) == std::vector<double>({2, 20, 200}));
  // A view of a leaf that requires grad: refused, as in PyTorch.
  Tensor leaf_x = tensor<double>({1, 2}).requires_grad_();
  CHECK(error_message([&] { leaf_x.narrow(0, 0, 1).mul_(2); }).find("view of a leaf Variable") != std::string::npos);
  // An expanded view (one element behind several positions): refused.
  Tensor e = tensor<double>({1}).requires_grad_().mul(1).expand({3});
  CHECK(error_message([&] { e.mul_(2); }).find("single memory location") != std::string::npos);
  // A saved input overwritten through a view is still caught at backward (sin saves b).
  Tensor a = tensor<double>({1, 2, 3}).requires_grad_();
  Tensor b = a.mul(1);
  Tensor t = b.sin();
  b.narrow(0, 0, 1).fill_(0);
  CHECK(error_message([&] { t.sum().backward(); }).find("modified by an inplace operation") != std::string::npos);
}

