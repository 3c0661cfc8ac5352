// Finite-difference checks (autograd::gradcheck) of the element-wise and reduction
// primitives: unary and binary ops with broadcasting and numbers, where/clamp/masks, and
// every reduction, first order everywhere and second order for the element-wise ops and
// sum/mean/amax/prod. Views, linear algebra, indexing, non-contiguous leaves and gradcheck's
// own failure reports are in autograd_gradcheck_composite_test.cc.
//
// Inputs are small float64 leaves drawn from a fixed Generator, kept away from the points
// where an op is not differentiable (0 for abs/relu, bounds for clamp, ties for min/max).
#include <sstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

using autograd::GradcheckOptions;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

const GradcheckOptions kFirstOrder{};
const GradcheckOptions kSecondOrder{.check_second_order = true};

template <typename... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

Tensor leaf(const Tensor& t) { return t.detach().contiguous().requires_grad_(); }

// Standard normal float64 leaf.
Tensor normal(IntArrayRef shape, Generator& g) { return leaf(randn(shape, {.dtype = kFloat64}, &g)); }

// Uniform in [lo, hi).
Tensor uniform(IntArrayRef shape, double lo, double hi, Generator& g) {
  return leaf(rand(shape, {.dtype = kFloat64}, &g).mul(hi - lo).add(lo));
}

// |x| uniform in [lo, hi) with a random sign: away from 0.
Tensor away_from_zero(IntArrayRef shape, double lo, double hi, Generator& g) {
  const Tensor magnitude = rand(shape, {.dtype = kFloat64}, &g).mul(hi - lo).add(lo);
  const Tensor negative = rand(shape, {.dtype = kFloat64}, &g).lt(0.5);
  return leaf(where(negative, magnitude.neg(), magnitude));
}

// Values k * 0.5 + u with distinct integers k (a random permutation centred on 0) and u in
// [0, 0.1): no two within 0.4 of each other, none within 0.15 of any odd multiple of 0.25.
Tensor spread(IntArrayRef shape, Generator& g) {
  const int64_t n = numel_of(shape);
  const Tensor k = randperm(n, {}, &g).to(kFloat64).sub(static_cast<double>(n / 2));
  const Tensor u = rand({n}, {.dtype = kFloat64}, &g).mul(0.1);
  return leaf(k.mul(0.5).add(u).reshape(shape));
}

// Two leaves whose values are all distinct (at least 0.2 apart): no ties between them
// under any broadcast.
std::pair<Tensor, Tensor> disjoint_pair(IntArrayRef shape_a, IntArrayRef shape_b, Generator& g) {
  const int64_t na = numel_of(shape_a), nb = numel_of(shape_b);
  const Tensor both = spread({na + nb}, g).detach().mul(0.6);
  return {leaf(both.narrow(0, 0, na).reshape(shape_a)), leaf(both.narrow(0, na, nb).reshape(shape_b))};
}

Tensor bool_mask(std::vector<bool> values, Shape shape) { return from_vector(values, shape); }

// Runs gradcheck and reports its message (which names input and element) on failure.
void expect_gradcheck(const std::string& what, const Fn& f, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& options) {
  const std::string msg = error_message([&] { (void)autograd::gradcheck(f, inputs, options); });
  CHECK_MESSAGE(msg.empty(), what, ": ", msg);
}

void expect_gradcheck(const std::string& what, const autograd::Function& f, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& options) {
  const std::string msg = error_message([&] { (void)autograd::gradcheck(f, inputs, options); });
  CHECK_MESSAGE(msg.empty(), what, ": ", msg);
}

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<Tensor(IntArrayRef, Generator&)> input;
};

}  // namespace

// ---- unary ---------------------------------------------------------------------------------

TEST_CASE("gradcheck: unary ops, first and second order") {
  auto any = [](IntArrayRef s, Generator& g) { return normal(s, g); };
  auto positive = [](IntArrayRef s, Generator& g) { return uniform(s, 0.5, 2.0, g); };
  auto nonzero = [](IntArrayRef s, Generator& g) { return away_from_zero(s, 0.2, 2.0, g); };
  const std::vector<UnaryCase> cases = {
      {"neg", [](const Tensor& x) { return x.neg(); }, any},
      {"operator-", [](const Tensor& x) { return -x; }, any},
      {"abs", [](const Tensor& x) { return x.abs(); }, nonzero},
      {"exp", [](const Tensor& x) { return x.exp(); }, any},
      {"log", [](const Tensor& x) { return x.log(); }, positive},
      {"log1p", [](const Tensor& x) { return x.log1p(); },
       [](IntArrayRef s, Generator& g) { return uniform(s, -0.7, 2.0, g); }},
      {"sqrt", [](const Tensor& x) { return x.sqrt(); }, positive},
      {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, positive},
      {"sin", [](const Tensor& x) { return x.sin(); }, any},
      {"cos", [](const Tensor& x) { return x.cos(); }, any},
      {"tanh", [](const Tensor& x) { return x.tanh(); }, any},
      {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }, any},
      {"relu", [](const Tensor& x) { return x.relu(); }, nonzero},
      {"gelu exact", [](const Tensor& x) { return x.gelu(); }, any},
      {"gelu tanh", [](const Tensor& x) { return x.gelu(/*tanh_approximation=*/true); }, any},
      {"silu", [](const Tensor& x) { return x.silu(); }, any},
      {"square", [](const Tensor& x) { return x.square(); }, any},
      {"reciprocal", [](const Tensor& x) { return x.reciprocal(); },
       [](IntArrayRef s, Generator& g) { return away_from_zero(s, 0.5, 2.0, g); }},
      {"erf", [](const Tensor& x) { return x.erf(); }, any},
  };
  Generator g(101);
  for (const UnaryCase& c : cases) {
    for (const Shape& shape : {Shape{3, 4}, Shape{}}) {
      const Tensor x = c.input(shape, g);
      expect_gradcheck(str(c.name, " on ", shape_str(shape)), [&](const std::vector<Tensor>& v) { return c.op(v[0]); },
                       {x}, kSecondOrder);
    }
  }
  // Free-function forms go through the same primitives.
  const Tensor x = normal({5}, g);
  expect_gradcheck("free functions", [](const std::vector<Tensor>& v) {
    return fulgur::sin(fulgur::exp(v[0])).add(fulgur::tanh(v[0])).add(fulgur::gelu(v[0], true)).add(fulgur::erf(v[0]));
  }, {x}, kSecondOrder);
}

// ---- binary --------------------------------------------------------------------------------

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting, alpha and numbers") {
  Generator g(202);
  struct Shapes {
    Shape a, b;
  };
  const std::vector<Shapes> shapes = {{{3, 1, 4}, {2, 4}}, {{3}, {}}, {{}, {2, 3}}, {{2, 3}, {2, 3}}};
  for (const Shapes& s : shapes) {
    const std::string at = str(" ", shape_str(s.a), " op ", shape_str(s.b));
    const Tensor a = normal(s.a, g), b = normal(s.b, g);
    const Tensor b_nonzero = away_from_zero(s.b, 0.5, 2.0, g);
    expect_gradcheck("add" + at, [](const std::vector<Tensor>& v) { return v[0].add(v[1]); }, {a, b}, kSecondOrder);
    expect_gradcheck("add alpha" + at, [](const std::vector<Tensor>& v) { return v[0].add(v[1], 2.5); }, {a, b},
                     kSecondOrder);
    expect_gradcheck("add(a, b, alpha)" + at, [](const std::vector<Tensor>& v) { return add(v[0], v[1], -0.75); },
                     {a, b}, kSecondOrder);
    expect_gradcheck("sub" + at, [](const std::vector<Tensor>& v) { return v[0].sub(v[1]); }, {a, b}, kSecondOrder);
    expect_gradcheck("sub alpha" + at, [](const std::vector<Tensor>& v) { return v[0].sub(v[1], -1.5); }, {a, b},
                     kSecondOrder);
    expect_gradcheck("mul" + at, [](const std::vector<Tensor>& v) { return v[0].mul(v[1]); }, {a, b}, kSecondOrder);
    expect_gradcheck("div" + at, [](const std::vector<Tensor>& v) { return v[0].div(v[1]); }, {a, b_nonzero},
                     kSecondOrder);
    expect_gradcheck("operators" + at, [](const std::vector<Tensor>& v) { return (v[0] + v[1]) * v[1] - v[0] / v[1]; },
                     {a, b_nonzero}, kSecondOrder);
  }
  // One operand a constant (no grad).
  const Tensor a = normal({2, 3}, g), c = normal({3}, g).detach();
  expect_gradcheck("mul by a constant tensor", [&](const std::vector<Tensor>& v) { return v[0].mul(c); }, {a},
                   kSecondOrder);
  expect_gradcheck("constant divided by a tensor", [&](const std::vector<Tensor>& v) { return c.div(v[0]); },
                   {away_from_zero({2, 3}, 0.5, 2.0, g)}, kSecondOrder);
  // The same tensor on both sides.
  expect_gradcheck("x * x", [](const std::vector<Tensor>& v) { return v[0].mul(v[0]); }, {a}, kSecondOrder);
  expect_gradcheck("x / x.exp()", [](const std::vector<Tensor>& v) { return v[0].div(v[0].exp()); }, {a},
                   kSecondOrder);
}

TEST_CASE("gradcheck: binary ops with a number operand, both orders") {
  Generator g(303);
  const Tensor x = normal({2, 3}, g);
  const Tensor nz = away_from_zero({2, 3}, 0.5, 2.0, g);
  const std::vector<std::pair<const char*, Fn>> cases = {
      {"t + 2.5", [](const std::vector<Tensor>& v) { return v[0].add(2.5); }},
      {"2.5 + t", [](const std::vector<Tensor>& v) { return 2.5 + v[0]; }},
      {"t - 1.5", [](const std::vector<Tensor>& v) { return v[0].sub(1.5); }},
      {"t - 2 (operator)", [](const std::vector<Tensor>& v) { return v[0] - Scalar(2); }},
      {"2 - t", [](const std::vector<Tensor>& v) { return Scalar(2.0) - v[0]; }},
      {"t * 3", [](const std::vector<Tensor>& v) { return v[0].mul(3.0); }},
      {"3 * t", [](const std::vector<Tensor>& v) { return Scalar(3) * v[0]; }},
      {"t / 4", [](const std::vector<Tensor>& v) { return v[0].div(4.0); }},
  };
  for (const auto& [name, f] : cases) expect_gradcheck(name, f, {x}, kSecondOrder);
  expect_gradcheck("2 / t", [](const std::vector<Tensor>& v) { return Scalar(2.0) / v[0]; }, {nz}, kSecondOrder);
  expect_gradcheck("-3 / t", [](const std::vector<Tensor>& v) { return Scalar(-3) / v[0]; }, {nz}, kSecondOrder);
}

TEST_CASE("gradcheck: pow, tensor-tensor, tensor-number, number-tensor") {
  Generator g(404);
  // Tensor ** tensor needs a positive base (d/dy = out * log(x)).
  const Tensor base = uniform({3, 1, 4}, 0.5, 2.0, g), exponent = normal({2, 4}, g);
  expect_gradcheck("pow [3,1,4] ** [2,4]", [](const std::vector<Tensor>& v) { return v[0].pow(v[1]); },
                   {base, exponent}, kSecondOrder);
  const Tensor base3 = uniform({3}, 0.5, 2.0, g), exponent0 = normal({}, g);
  expect_gradcheck("pow [3] ** 0-dim", [](const std::vector<Tensor>& v) { return pow(v[0], v[1]); },
                   {base3, exponent0}, kSecondOrder);
  expect_gradcheck("pow 0-dim ** [3]", [](const std::vector<Tensor>& v) { return v[1].pow(v[0]); },
                   {normal({3}, g), uniform({}, 0.5, 2.0, g)}, kSecondOrder);
  // Tensor ** number: integer exponents on any sign, fractional and negative on positive bases.
  const Tensor x = normal({2, 3}, g), pos = uniform({2, 3}, 0.5, 2.0, g);
  expect_gradcheck("x ** 2", [](const std::vector<Tensor>& v) { return v[0].pow(2); }, {x}, kSecondOrder);
  expect_gradcheck("x ** 3.0", [](const std::vector<Tensor>& v) { return v[0].pow(3.0); }, {x}, kSecondOrder);
  expect_gradcheck("x ** 2.5", [](const std::vector<Tensor>& v) { return v[0].pow(2.5); }, {pos}, kSecondOrder);
  expect_gradcheck("x ** -1.5", [](const std::vector<Tensor>& v) { return pow(v[0], Scalar(-1.5)); }, {pos},
                   kSecondOrder);
  expect_gradcheck("x ** 0.5", [](const std::vector<Tensor>& v) { return v[0].pow(0.5); }, {pos}, kSecondOrder);
  expect_gradcheck("x ** 0", [](const std::vector<Tensor>& v) { return v[0].pow(0.0); }, {x}, kSecondOrder);
  // Number ** tensor.
  expect_gradcheck("2 ** x", [](const std::vector<Tensor>& v) { return pow(Scalar(2.0), v[0]); }, {x}, kSecondOrder);
  expect_gradcheck("0.5 ** x", [](const std::vector<Tensor>& v) { return pow(Scalar(0.5), v[0]); }, {x},
                   kSecondOrder);
}

TEST_CASE("gradcheck: minimum and maximum without ties") {
  Generator g(505);
  struct Shapes {
    Shape a, b;
  };
  for (const Shapes& s : std::vector<Shapes>{{{3, 1, 4}, {2, 4}}, {{3}, {}}, {{2, 3}, {2, 3}}}) {
    const auto [a, b] = disjoint_pair(s.a, s.b, g);
    const std::string at = str(" ", shape_str(s.a), " op ", shape_str(s.b));
    expect_gradcheck("minimum" + at, [](const std::vector<Tensor>& v) { return v[0].minimum(v[1]); }, {a, b},
                     kSecondOrder);
    expect_gradcheck("maximum" + at, [](const std::vector<Tensor>& v) { return maximum(v[0], v[1]); }, {a, b},
                     kSecondOrder);
    // Nonlinear around it, so that the second order sees the selection.
    expect_gradcheck("maximum of squares" + at,
                     [](const std::vector<Tensor>& v) { return v[0].square().maximum(v[1].exp()); }, {a, b},
                     kSecondOrder);
  }
}

// ---- where, clamp, masks -------------------------------------------------------------------

TEST_CASE("gradcheck: where with broadcast condition and operands") {
  Generator g(606);
  const Tensor cond = bool_mask({true, false, false, true, true, true, false, false}, {2, 1, 4});
  const Tensor a = normal({3, 1}, g), b = normal({4}, g);
  expect_gradcheck("where [2,1,4] ? [3,1] : [4]", [&](const std::vector<Tensor>& v) { return where(cond, v[0], v[1]); },
                   {a, b}, kSecondOrder);
  expect_gradcheck("where of nonlinear branches",
                   [&](const std::vector<Tensor>& v) { return where(cond, v[0].exp(), v[1].square()); }, {a, b},
                   kSecondOrder);
  expect_gradcheck("where(cond, x, 0.5)", [&](const std::vector<Tensor>& v) { return where(cond, v[0], Scalar(0.5)); },
                   {a}, kSecondOrder);
  expect_gradcheck("where(cond, -1, x)", [&](const std::vector<Tensor>& v) { return where(cond, Scalar(-1), v[0]); },
                   {b}, kSecondOrder);
  // A condition computed from the input itself (the usual masking idiom).
  const Tensor x = away_from_zero({3, 4}, 0.2, 2.0, g);
  expect_gradcheck("where(x > 0, x, x * 0.1)",
                   [](const std::vector<Tensor>& v) { return where(v[0].gt(0), v[0], v[0].mul(0.1)); }, {x},
                   kSecondOrder);
}

TEST_CASE("gradcheck: clamp with number and tensor bounds") {
  Generator g(707);
  // spread() keeps every value at least 0.15 away from odd multiples of 0.25 (the bounds),
  // and its squares at least 0.4 away from 3.
  const Tensor x = spread({3, 4}, g);
  expect_gradcheck("clamp(-0.75, 0.75)", [](const std::vector<Tensor>& v) { return v[0].clamp(-0.75, 0.75); }, {x},
                   kSecondOrder);
  expect_gradcheck("clamp(min only)", [](const std::vector<Tensor>& v) { return v[0].clamp(-0.25); }, {x},
                   kSecondOrder);
  expect_gradcheck("clamp(max only)", [](const std::vector<Tensor>& v) { return v[0].clamp(std::nullopt, 1.25); },
                   {x}, kSecondOrder);
  expect_gradcheck("clamp(x.square(), max only)",
                   [](const std::vector<Tensor>& v) { return clamp(v[0].square(), std::nullopt, 3.0); }, {x},
                   kSecondOrder);
  // Tensor bounds that broadcast and require grad: lo in [-0.8, -0.7), hi in [0.7, 0.8).
  const Tensor lo = uniform({4}, -0.8, -0.7, g), hi = uniform({3, 1}, 0.7, 0.8, g);
  expect_gradcheck("clamp(x, lo [4], hi [3,1])", [](const std::vector<Tensor>& v) { return v[0].clamp(v[1], v[2]); },
                   {x, lo, hi}, kSecondOrder);
  expect_gradcheck("clamp with nonlinear operands",
                   [](const std::vector<Tensor>& v) { return v[0].mul(v[0].abs()).clamp(v[1].mul(2), v[2].square()); },
                   {x, lo, hi}, kSecondOrder);
}

TEST_CASE("gradcheck: masked_fill and masked_select") {
  Generator g(808);
  const Tensor x = normal({3, 4}, g);
  const Tensor row_mask = bool_mask({false, true, true, false}, {4});
  const Tensor full_mask =
      bool_mask({true, false, false, true, false, true, true, false, true, true, false, false}, {3, 4});
  expect_gradcheck("masked_fill broadcast mask", [&](const std::vector<Tensor>& v) { return v[0].masked_fill(row_mask, 0.5); },
                   {x}, kSecondOrder);
  expect_gradcheck("masked_fill of exp", [&](const std::vector<Tensor>& v) { return v[0].exp().masked_fill(full_mask, -2.0); },
                   {x}, kSecondOrder);
  expect_gradcheck("masked_select", [&](const std::vector<Tensor>& v) { return v[0].masked_select(full_mask); }, {x},
                   kFirstOrder);
  expect_gradcheck("masked_select broadcast mask",
                   [&](const std::vector<Tensor>& v) { return v[0].masked_select(row_mask); }, {x}, kFirstOrder);
  expect_gradcheck("masked_select broadcast input",
                   [&](const std::vector<Tensor>& v) { return v[0].masked_select(full_mask); }, {normal({4}, g)},
                   kFirstOrder);
  expect_gradcheck("masked_select of a square",
                   [&](const std::vector<Tensor>& v) { return v[0].square().masked_select(full_mask); }, {x},
                   kSecondOrder);
}

// ---- reductions ----------------------------------------------------------------------------

TEST_CASE("gradcheck: sum and mean over all, some, negative dims, keepdim") {
  Generator g(909);
  const Tensor x = normal({2, 3, 4}, g);
  struct Red {
    const char* name;
    Shape dims;
    bool keepdim;
  };
  const std::vector<Red> reds = {{"all", {}, false},       {"all keepdim", {}, true},   {"dim 1", {1}, false},
                                 {"dims 0,2 keepdim", {0, 2}, true}, {"dim -1", {-1}, false}, {"dims -3,-1", {-3, -1}, false},
                                 {"dims -2 keepdim", {-2}, true}, {"dims 0,1,2", {0, 1, 2}, false}};
  for (const Red& r : reds) {
    expect_gradcheck(std::string("sum ") + r.name, [&](const std::vector<Tensor>& v) { return v[0].sum(r.dims, r.keepdim); },
                     {x}, kSecondOrder);
    expect_gradcheck(std::string("mean ") + r.name,
                     [&](const std::vector<Tensor>& v) { return v[0].mean(r.dims, r.keepdim); }, {x}, kSecondOrder);
    // Second order of a nonlinear function of the reduction.
    expect_gradcheck(std::string("sum of squares, squared, ") + r.name,
                     [&](const std::vector<Tensor>& v) { return v[0].square().sum(r.dims, r.keepdim).square(); }, {x},
                     kSecondOrder);
  }
  const Tensor s = normal({}, g);
  expect_gradcheck("sum of a 0-dim", [](const std::vector<Tensor>& v) { return v[0].sum(); }, {s}, kSecondOrder);
  expect_gradcheck("mean of a 0-dim", [](const std::vector<Tensor>& v) { return v[0].mean(); }, {s}, kSecondOrder);
  expect_gradcheck("sum dim 0 of a 1-D", [](const std::vector<Tensor>& v) { return v[0].sum({0}, true); },
                   {normal({5}, g)}, kSecondOrder);
}

TEST_CASE("gradcheck: prod with and without zeros") {
  Generator g(1010);
  const Tensor x = away_from_zero({3, 4}, 0.5, 1.5, g);
  expect_gradcheck("prod all", [](const std::vector<Tensor>& v) { return v[0].prod(); }, {x}, kSecondOrder);
  expect_gradcheck("prod dim 1", [](const std::vector<Tensor>& v) { return v[0].prod(1); }, {x}, kSecondOrder);
  expect_gradcheck("prod dim 0 keepdim", [](const std::vector<Tensor>& v) { return v[0].prod(0, true); }, {x},
                   kSecondOrder);
  expect_gradcheck("prod dim -1", [](const std::vector<Tensor>& v) { return v[0].prod(-1); }, {x}, kSecondOrder);
  expect_gradcheck("prod of a 0-dim", [](const std::vector<Tensor>& v) { return v[0].prod(); }, {normal({}, g)},
                   kSecondOrder);
  expect_gradcheck("prod of a 3-D, dim 1", [](const std::vector<Tensor>& v) { return v[0].prod(1); },
                   {away_from_zero({2, 3, 2}, 0.5, 1.5, g)}, kSecondOrder);

  // Zeros at (0,2), (1,0), (1,3), (2,3): rows hold 1, 2, 1, 0 zeros, columns 1, 0, 1, 2.
  Tensor z = away_from_zero({4, 4}, 0.5, 1.5, g).detach().clone();
  for (const std::vector<int64_t>& at : {std::vector<int64_t>{0, 2}, {1, 0}, {1, 3}, {2, 3}}) set(z, at, 0.0);
  z.requires_grad_();
  for (const GradcheckOptions& o : {kFirstOrder, kSecondOrder}) {
    const std::string order = o.check_second_order ? " (second order)" : " (first order)";
    expect_gradcheck("prod dim 1 with zeros" + order, [](const std::vector<Tensor>& v) { return v[0].prod(1); }, {z}, o);
    expect_gradcheck("prod dim 0 keepdim with zeros" + order,
                     [](const std::vector<Tensor>& v) { return v[0].prod(0, true); }, {z}, o);
    expect_gradcheck("prod all, one zero" + order, [](const std::vector<Tensor>& v) { return v[0].prod(); },
                     {leaf(z.detach().narrow(0, 0, 1))}, o);
    expect_gradcheck("prod all, two zeros" + order, [](const std::vector<Tensor>& v) { return v[0].prod(); },
                     {leaf(z.detach().narrow(0, 1, 1))}, o);
    expect_gradcheck("prod all, three zeros" + order, [](const std::vector<Tensor>& v) { return v[0].prod(); },
                     {leaf(z.detach().narrow(0, 0, 2))}, o);
  }
}

TEST_CASE("gradcheck: amax, amin, max(), min() and max/min along a dim, without ties") {
  Generator g(1111);
  const Tensor x = spread({3, 4}, g);
  const Tensor x3 = spread({2, 3, 2}, g);
  struct Red {
    const char* name;
    Shape dims;
    bool keepdim;
  };
  for (const Red& r : std::vector<Red>{{"all", {}, false}, {"dim 1", {1}, false}, {"dim 0 keepdim", {0}, true},
                                       {"dim -1", {-1}, false}, {"all keepdim", {}, true}}) {
    expect_gradcheck(std::string("amax ") + r.name, [&](const std::vector<Tensor>& v) { return v[0].amax(r.dims, r.keepdim); },
                     {x}, kSecondOrder);
    expect_gradcheck(std::string("amin ") + r.name, [&](const std::vector<Tensor>& v) { return v[0].amin(r.dims, r.keepdim); },
                     {x}, kSecondOrder);
    expect_gradcheck(std::string("amax of x^3 ") + r.name,
                     [&](const std::vector<Tensor>& v) { return v[0].pow(3).amax(r.dims, r.keepdim).square(); }, {x},
                     kSecondOrder);
  }
  expect_gradcheck("amax dims 0,2 of 3-D", [](const std::vector<Tensor>& v) { return v[0].amax({0, 2}); }, {x3},
                   kSecondOrder);
  expect_gradcheck("amin dims -1,0 keepdim of 3-D", [](const std::vector<Tensor>& v) { return v[0].amin({-1, 0}, true); },
                   {x3}, kSecondOrder);
  expect_gradcheck("max()", [](const std::vector<Tensor>& v) { return v[0].max(); }, {x}, kFirstOrder);
  expect_gradcheck("min()", [](const std::vector<Tensor>& v) { return v[0].min(); }, {x}, kFirstOrder);
  expect_gradcheck("max() of 0-dim", [](const std::vector<Tensor>& v) { return v[0].max(); }, {normal({}, g)},
                   kFirstOrder);
  for (int64_t dim : {0, 1, -1}) {
    for (bool keepdim : {false, true}) {
      const std::string at = str(" dim ", dim, keepdim ? " keepdim" : "");
      expect_gradcheck("max(dim) values" + at,
                       [&](const std::vector<Tensor>& v) { return std::get<0>(v[0].max(dim, keepdim)); }, {x},
                       kFirstOrder);
      expect_gradcheck("min(dim) values" + at,
                       [&](const std::vector<Tensor>& v) { return std::get<0>(v[0].min(dim, keepdim)); }, {x},
                       kFirstOrder);
    }
  }
  expect_gradcheck("max(dim 1) of 3-D", [](const std::vector<Tensor>& v) { return std::get<0>(v[0].max(1)); }, {x3},
                   kFirstOrder);
  // Both outputs returned: the indices carry no gradient.
  expect_gradcheck("max(dim) values and indices", autograd::Function([](const std::vector<Tensor>& v) {
                     auto [values, indices] = v[0].max(0);
                     return std::vector<Tensor>{values, indices};
                   }), {x}, kFirstOrder);
}

TEST_CASE("gradcheck: var and std with correction 0 and 1") {
  Generator g(1212);
  const Tensor x = normal({3, 4}, g);
  for (double correction : {0.0, 1.0}) {
    const std::string c = str(" correction ", correction);
    expect_gradcheck("var all" + c, [&](const std::vector<Tensor>& v) { return v[0].var({}, correction); }, {x},
                     kFirstOrder);
    expect_gradcheck("var dim 1" + c, [&](const std::vector<Tensor>& v) { return v[0].var({1}, correction); }, {x},
                     kFirstOrder);
    expect_gradcheck("var dim -2 keepdim" + c,
                     [&](const std::vector<Tensor>& v) { return v[0].var({-2}, correction, true); }, {x}, kFirstOrder);
    expect_gradcheck("std all" + c, [&](const std::vector<Tensor>& v) { return v[0].std({}, correction); }, {x},
                     kFirstOrder);
    expect_gradcheck("std dim 0" + c, [&](const std::vector<Tensor>& v) { return v[0].std({0}, correction); }, {x},
                     kFirstOrder);
    expect_gradcheck("std dim 1 keepdim" + c,
                     [&](const std::vector<Tensor>& v) { return v[0].std({1}, correction, true); }, {x}, kFirstOrder);
  }
  expect_gradcheck("var second order", [](const std::vector<Tensor>& v) { return v[0].var({1}); }, {x}, kSecondOrder);
}

TEST_CASE("gradcheck: norm p = 1, 2, 3, inf") {
  Generator g(1313);
  const Tensor x = away_from_zero({3, 4}, 0.3, 2.0, g);
  // Distinct absolute values for the inf-norm's max.
  const Tensor distinct_abs = leaf(spread({3, 4}, g).detach().add(7.0).mul(where(x.detach().gt(0), Scalar(1.0), Scalar(-1.0))));
  for (double p : {1.0, 2.0, 3.0}) {
    const std::string at = str(" p=", p);
    expect_gradcheck("norm all" + at, [&](const std::vector<Tensor>& v) { return v[0].norm(p); }, {x}, kFirstOrder);
    expect_gradcheck("norm dim 1" + at, [&](const std::vector<Tensor>& v) { return v[0].norm(p, {1}); }, {x},
                     kFirstOrder);
    expect_gradcheck("norm dim 0 keepdim" + at, [&](const std::vector<Tensor>& v) { return v[0].norm(p, {0}, true); },
                     {x}, kFirstOrder);
  }
  const double inf = std::numeric_limits<double>::infinity();
  expect_gradcheck("norm all p=inf", [&](const std::vector<Tensor>& v) { return v[0].norm(inf); }, {distinct_abs},
                   kFirstOrder);
  expect_gradcheck("norm dim -1 p=inf", [&](const std::vector<Tensor>& v) { return v[0].norm(inf, {-1}); },
                   {distinct_abs}, kFirstOrder);
  expect_gradcheck("norm dim 0 p=-inf", [&](const std::vector<Tensor>& v) { return v[0].norm(-inf, {0}); },
                   {distinct_abs}, kFirstOrder);
}

TEST_CASE("gradcheck: logsumexp, softmax and log_softmax along different dims") {
  Generator g(1414);
  const Tensor x = normal({2, 3, 4}, g);
  for (const Shape& dims : {Shape{0}, Shape{1}, Shape{-1}, Shape{0, 2}, Shape{}}) {
    for (bool keepdim : {false, true}) {
      expect_gradcheck(str("logsumexp dims ", shape_str(dims), keepdim ? " keepdim" : ""),
                       [&](const std::vector<Tensor>& v) { return v[0].logsumexp(dims, keepdim); }, {x}, kFirstOrder);
    }
  }
  // Large values: the max shift must not change the gradient.
  expect_gradcheck("logsumexp of large values", [](const std::vector<Tensor>& v) { return v[0].mul(50).logsumexp({1}); },
                   {normal({2, 3}, g)}, kFirstOrder);
  for (int64_t dim : {0, 1, 2, -1}) {
    const std::string at = str(" dim ", dim);
    expect_gradcheck("softmax" + at, [&](const std::vector<Tensor>& v) { return v[0].softmax(dim); }, {x}, kFirstOrder);
    expect_gradcheck("log_softmax" + at, [&](const std::vector<Tensor>& v) { return log_softmax(v[0], dim); }, {x},
                     kFirstOrder);
  }
  expect_gradcheck("softmax second order", [](const std::vector<Tensor>& v) { return softmax(v[0], -1); },
                   {normal({2, 3}, g)}, kSecondOrder);
  expect_gradcheck("log_softmax second order", [](const std::vector<Tensor>& v) { return v[0].log_softmax(0); },
                   {normal({3, 2}, g)}, kSecondOrder);
}
