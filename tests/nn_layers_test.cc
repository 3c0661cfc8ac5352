// nn layers and F:: functions against PyTorch 1.13: tests/golden/nn_layers_golden.inc, written
// by tools/gen_nn_golden.py (run with Debian's PyTorch: /usr/bin/python3 tools/gen_nn_golden.py).
// Each golden case stores the input(s), the parameters (loaded here with load_state_dict), the
// output, an upstream gradient gy and the gradients of sum(y * gy); everything is float64.
// Also: gradcheck of every layer's math, default initialisation distributions, dropout.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

#include "tests/golden/nn_layers_golden.inc"

using namespace fulgur;

namespace {

const nn_golden::GoldenTensor* find_golden(const std::string& name) {
  for (const auto& g : nn_golden::tensors())
    if (name == g.name) return &g;
  return nullptr;
}

bool has_golden(const std::string& name) { return find_golden(name) != nullptr; }

Tensor golden(const std::string& name) {
  const nn_golden::GoldenTensor* g = find_golden(name);
  REQUIRE_MESSAGE(g != nullptr, "no golden tensor ", name);
  Tensor t = from_vector(g->values, g->shape);
  if (g->kind == 'i') return t.to(kInt64);
  if (g->kind == 'b') return t.to(kBool);
  return t;
}

// Values within tol * (1 + |expected|) (NaN matches NaN), shapes equal.
void check_close(const Tensor& actual, const std::string& name, double tol = 1e-10) {
  const nn_golden::GoldenTensor* g = find_golden(name);
  REQUIRE_MESSAGE(g != nullptr, "no golden tensor ", name);
  REQUIRE_MESSAGE(actual.defined(), name, ": undefined tensor");
  REQUIRE_MESSAGE(actual.sizes().vec() == g->shape, name, ": shape ", shape_str(actual.sizes()), " expected ",
                  shape_str(g->shape));
  const std::vector<double> a = testing::values(actual.contiguous());
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = g->values[i];
    if (std::isnan(e)) {
      CHECK_MESSAGE(std::isnan(a[i]), name, "[", i, "] = ", a[i], ", expected nan");
    } else {
      CHECK_MESSAGE(std::abs(a[i] - e) <= tol * (1 + std::abs(e)), name, "[", i, "] = ", a[i], ", expected ", e);
    }
  }
}

std::vector<std::string> case_tensors(const std::string& c, const std::string& prefix) {
  std::vector<std::string> out;
  const std::string p = c + "/" + prefix;
  for (const auto& g : nn_golden::tensors())
    if (std::string(g.name).rfind(p, 0) == 0) out.push_back(std::string(g.name).substr(p.size()));
  return out;
}

std::vector<Tensor> case_inputs(const std::string& c) {
  std::vector<Tensor> xs;
  for (int i = 0; has_golden(c + "/x" + std::to_string(i)); ++i) {
    Tensor x = golden(c + "/x" + std::to_string(i));
    if (x.is_floating_point()) x.requires_grad_();
    xs.push_back(x);
  }
  return xs;
}

constexpr nn::LinearOptions kF64{.dtype = kFloat64};

using Forward = std::function<Tensor(nn::Module&, const std::vector<Tensor>&)>;
struct LayerCase {
  std::function<std::shared_ptr<nn::Module>()> make;
  Forward forward = [](nn::Module& m, const std::vector<Tensor>& xs) { return m(xs.at(0)); };
};

std::map<std::string, LayerCase> layer_cases() {
  auto two = [](nn::Module& m, const std::vector<Tensor>& xs) {
    return static_cast<nn::Bilinear&>(m)(xs.at(0), xs.at(1));
  };
  auto mk = [](auto f) { return std::function<std::shared_ptr<nn::Module>()>(f); };
  std::map<std::string, LayerCase> c;
  c["linear"] = {mk([] { return std::make_shared<nn::Linear>(3, 4, kF64); })};
  c["linear_nobias"] = {mk([] { return std::make_shared<nn::Linear>(3, 4, nn::LinearOptions{.bias = false, .dtype = kFloat64}); })};
  c["linear_3d"] = {mk([] { return std::make_shared<nn::Linear>(3, 2, kF64); })};
  c["bilinear"] = {mk([] { return std::make_shared<nn::Bilinear>(3, 2, 4, kF64); }), two};
  c["bilinear_nobias"] = {
      mk([] { return std::make_shared<nn::Bilinear>(3, 2, 4, nn::LinearOptions{.bias = false, .dtype = kFloat64}); }),
      two};
  c["relu"] = {mk([] { return std::make_shared<nn::ReLU>(); })};
  c["leaky_relu"] = {mk([] { return std::make_shared<nn::LeakyReLU>(); })};
  c["leaky_relu_0.2"] = {mk([] { return std::make_shared<nn::LeakyReLU>(0.2); })};
  c["gelu"] = {mk([] { return std::make_shared<nn::GELU>(); })};
  c["gelu_tanh"] = {mk([] { return std::make_shared<nn::GELU>("tanh"); })};
  c["silu"] = {mk([] { return std::make_shared<nn::SiLU>(); })};
  c["tanh"] = {mk([] { return std::make_shared<nn::Tanh>(); })};
  c["sigmoid"] = {mk([] { return std::make_shared<nn::Sigmoid>(); })};
  c["softmax_1"] = {mk([] { return std::make_shared<nn::Softmax>(1); })};
  c["softmax_0"] = {mk([] { return std::make_shared<nn::Softmax>(0); })};
  c["softmax_none"] = {mk([] { return std::make_shared<nn::Softmax>(); })};
  c["softmax_none_3d"] = {mk([] { return std::make_shared<nn::Softmax>(); })};
  c["log_softmax_1"] = {mk([] { return std::make_shared<nn::LogSoftmax>(1); })};
  c["log_softmax_neg1_3d"] = {mk([] { return std::make_shared<nn::LogSoftmax>(-1); })};
  c["flatten"] = {mk([] { return std::make_shared<nn::Flatten>(); })};
  c["flatten_0_2"] = {mk([] { return std::make_shared<nn::Flatten>(0, 2); })};
  c["unflatten"] = {mk([] { return std::make_shared<nn::Unflatten>(1, Shape{2, 3}); })};
  c["identity"] = {mk([] { return std::make_shared<nn::Identity>(); })};
  const auto emb = [](nn::EmbeddingOptions o) {
    o.dtype = kFloat64;
    return [o] { return std::static_pointer_cast<nn::Module>(std::make_shared<nn::Embedding>(10, 3, o)); };
  };
  c["embedding"] = {emb({})};
  c["embedding_padding"] = {emb({.padding_idx = 0})};
  c["embedding_padding_neg"] = {emb({.padding_idx = -1})};
  c["embedding_freq"] = {emb({.scale_grad_by_freq = true})};
  c["embedding_freq_padding"] = {emb({.padding_idx = 3, .scale_grad_by_freq = true})};
  c["embedding_max_norm"] = {emb({.max_norm = 0.5})};
  c["embedding_max_norm_l1"] = {emb({.max_norm = 0.9, .norm_type = 1.0})};
  c["layernorm"] = {mk([] { return std::make_shared<nn::LayerNorm>(4, nn::LayerNormOptions{.dtype = kFloat64}); })};
  c["layernorm_2d"] = {
      mk([] { return std::make_shared<nn::LayerNorm>(Shape{3, 4}, nn::LayerNormOptions{.dtype = kFloat64}); })};
  c["layernorm_noaffine"] = {mk([] {
    return std::make_shared<nn::LayerNorm>(4, nn::LayerNormOptions{.elementwise_affine = false, .dtype = kFloat64});
  })};
  c["layernorm_eps"] = {
      mk([] { return std::make_shared<nn::LayerNorm>(4, nn::LayerNormOptions{.eps = 1e-3, .dtype = kFloat64}); })};
  c["sequential"] = {mk([] {
    return std::make_shared<nn::Sequential>(nn::Linear(4, 5, kF64), nn::ReLU(), nn::Linear(5, 3, kF64), nn::Tanh());
  })};
  return c;
}

// F:: forms of the same cases: (inputs, parameters by state_dict key) -> output.
using Functional = std::function<Tensor(const std::vector<Tensor>&, const nn::StateDict&)>;
std::map<std::string, Functional> functional_cases() {
  std::map<std::string, Functional> c;
  const auto maybe = [](const nn::StateDict& p, const std::string& k) {
    return p.contains(k) ? p.at(k) : Tensor();
  };
  c["linear"] = [=](auto& x, auto& p) { return F::linear(x[0], p.at("weight"), maybe(p, "bias")); };
  c["linear_nobias"] = c["linear_3d"] = c["linear"];
  c["bilinear"] = [=](auto& x, auto& p) { return F::bilinear(x[0], x[1], p.at("weight"), maybe(p, "bias")); };
  c["bilinear_nobias"] = c["bilinear"];
  c["relu"] = [](auto& x, auto&) { return F::relu(x[0]); };
  c["leaky_relu"] = [](auto& x, auto&) { return F::leaky_relu(x[0]); };
  c["leaky_relu_0.2"] = [](auto& x, auto&) { return F::leaky_relu(x[0], 0.2); };
  c["gelu"] = [](auto& x, auto&) { return F::gelu(x[0]); };
  c["gelu_tanh"] = [](auto& x, auto&) { return F::gelu(x[0], "tanh"); };
  c["silu"] = [](auto& x, auto&) { return F::silu(x[0]); };
  c["tanh"] = [](auto& x, auto&) { return F::tanh(x[0]); };
  c["sigmoid"] = [](auto& x, auto&) { return F::sigmoid(x[0]); };
  c["softmax_1"] = [](auto& x, auto&) { return F::softmax(x[0], 1); };
  c["softmax_0"] = [](auto& x, auto&) { return F::softmax(x[0], 0); };
  c["log_softmax_1"] = [](auto& x, auto&) { return F::log_softmax(x[0], 1); };
  c["log_softmax_neg1_3d"] = [](auto& x, auto&) { return F::log_softmax(x[0], -1); };
  c["embedding"] = [](auto& x, auto& p) { return F::embedding(x[0], p.at("weight")); };
  c["embedding_padding"] = [](auto& x, auto& p) { return F::embedding(x[0], p.at("weight"), {.padding_idx = 0}); };
  c["embedding_freq"] = [](auto& x, auto& p) {
    return F::embedding(x[0], p.at("weight"), {.scale_grad_by_freq = true});
  };
  c["layernorm"] = [=](auto& x, auto& p) { return F::layer_norm(x[0], {4}, p.at("weight"), p.at("bias")); };
  c["layernorm_2d"] = [=](auto& x, auto& p) { return F::layer_norm(x[0], {3, 4}, p.at("weight"), p.at("bias")); };
  c["layernorm_noaffine"] = [](auto& x, auto&) { return F::layer_norm(x[0], {4}); };
  c["layernorm_eps"] = [=](auto& x, auto& p) {
    return F::layer_norm(x[0], {4}, p.at("weight"), p.at("bias"), 1e-3);
  };
  return c;
}

nn::StateDict case_params(const std::string& c, bool requires_grad) {
  nn::StateDict sd;
  for (const std::string& k : case_tensors(c, "param:")) {
    Tensor t = golden(c + "/param:" + k);
    if (requires_grad) t.requires_grad_();
    sd.insert(k, t);
  }
  return sd;
}

}  // namespace

TEST_CASE("nn layers: golden cases and builders match one to one") {
  const auto builders = layer_cases();
  std::set<std::string> golden_cases(nn_golden::cases().begin(), nn_golden::cases().end());
  for (const auto& c : golden_cases) CHECK_MESSAGE(builders.count(c) == 1, "no builder for golden case ", c);
  for (const auto& [c, b] : builders) CHECK_MESSAGE(golden_cases.count(c) == 1, "no golden case for builder ", c);
  for (const auto& [c, f] : functional_cases()) CHECK_MESSAGE(golden_cases.count(c) == 1, "no golden case ", c);
}

TEST_CASE("nn layers: outputs and gradients match PyTorch (float64)") {
  for (const auto& [c, lc] : layer_cases()) {
    CAPTURE(c);
    auto m = lc.make();
    // Loading the fixture's parameters also checks the state_dict keys (strict).
    m->load_state_dict(case_params(c, false));
    std::vector<Tensor> xs = case_inputs(c);
    Tensor y = lc.forward(*m, xs);
    check_close(y, c + "/y");
    y.backward(golden(c + "/gy"));
    for (size_t i = 0; i < xs.size(); ++i)
      if (xs[i].is_floating_point()) check_close(xs[i].grad(), c + "/grad_x" + std::to_string(i));
    const std::vector<std::string> grads = case_tensors(c, "grad:");
    size_t with_grad = 0;
    for (const auto& [name, p] : m->named_parameters()) {
      if (!p.grad().defined()) continue;
      ++with_grad;
      check_close(p.grad(), c + "/grad:" + name);
    }
    CHECK(with_grad == grads.size());
    for (const auto& [name, t] : m->state_dict()) check_close(t, c + "/after:" + name);
  }
}

TEST_CASE("F:: functions match the same golden cases") {
  for (const auto& [c, f] : functional_cases()) {
    CAPTURE(c);
    std::vector<Tensor> xs = case_inputs(c);
    nn::StateDict params = case_params(c, true);
    Tensor y = f(xs, params);
    check_close(y, c + "/y");
    y.backward(golden(c + "/gy"));
    for (size_t i = 0; i < xs.size(); ++i)
      if (xs[i].is_floating_point()) check_close(xs[i].grad(), c + "/grad_x" + std::to_string(i));
    for (const auto& [k, p] : params) check_close(p.grad(), c + "/grad:" + k);
  }
}

TEST_CASE("gradcheck: layer math in float64") {
  using autograd::gradcheck;
  auto r = [](Shape s, uint64_t seed, bool away_from_zero = false) {
    Generator g(seed);
    Tensor t = randn(s, {.dtype = kFloat64}, &g);
    if (away_from_zero) t = where(t.abs().lt(0.1), t.add(0.3), t);  // off the kinks of relu & co
    return t.requires_grad_();
  };
  using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
  const std::vector<std::pair<std::string, Fn>> unary = {
      {"relu", [](auto& in) { return F::relu(in[0]); }},
      {"leaky_relu", [](auto& in) { return F::leaky_relu(in[0], 0.2); }},
      {"gelu", [](auto& in) { return F::gelu(in[0]); }},
      {"gelu_tanh", [](auto& in) { return F::gelu(in[0], "tanh"); }},
      {"silu", [](auto& in) { return F::silu(in[0]); }},
      {"tanh", [](auto& in) { return F::tanh(in[0]); }},
      {"sigmoid", [](auto& in) { return F::sigmoid(in[0]); }},
      {"softmax", [](auto& in) { return F::softmax(in[0], 1); }},
      {"log_softmax", [](auto& in) { return F::log_softmax(in[0], 0); }},
      {"layer_norm_noaffine", [](auto& in) { return F::layer_norm(in[0], {4}); }},
      {"flatten", [](auto& in) { return nn::Flatten(0)(in[0]); }},
      {"unflatten", [](auto& in) { return nn::Unflatten(1, {2, 2})(in[0]); }},
      {"dropout", [](auto& in) {  // a fresh generator per call: the same mask every time
         Generator g(5);
         return F::dropout(in[0], 0.4, true, false, &g);
       }},
  };
  for (const auto& [name, f] : unary) {
    CAPTURE(name);
    CHECK(gradcheck(f, {r({3, 4}, 8, true)}));
  }
  CHECK(gradcheck([](auto& in) { return F::linear(in[0], in[1], in[2]); }, {r({2, 3}, 1), r({4, 3}, 2), r({4}, 3)}));
  CHECK(gradcheck([](auto& in) { return F::linear(in[0], in[1]); }, {r({2, 2, 3}, 1), r({4, 3}, 2)}));
  CHECK(gradcheck([](auto& in) { return F::bilinear(in[0], in[1], in[2], in[3]); },
                  {r({3, 2}, 4), r({3, 3}, 5), r({2, 2, 3}, 6), r({2}, 7)}));
  CHECK(gradcheck([](auto& in) { return F::layer_norm(in[0], {2, 3}, in[1], in[2], 1e-3); },
                  {r({4, 2, 3}, 9), r({2, 3}, 10), r({2, 3}, 11)}));
  const Tensor idx = tensor<int64_t>({{1, 3, 0}, {3, 3, 4}});
  CHECK(gradcheck([&](auto& in) { return F::embedding(idx, in[0]); }, {r({5, 2}, 12)}));
  // padding_idx and scale_grad_by_freq change the gradient on purpose (it is no longer the
  // derivative), so they are checked against PyTorch's gradients in the golden cases only.
  // Modules through their parameters: the module's forward, with the perturbed copies
  // loaded into it, differentiated through the copies themselves.
  nn::Sequential seq(nn::Linear(3, 4, kF64), nn::GELU(), nn::LayerNorm(4, {.dtype = kFloat64}), nn::Linear(4, 2, kF64));
  CHECK(gradcheck([&](auto& in) { return seq(in[0]); }, {r({2, 3}, 14)}));
}

TEST_CASE("F:: activations: inplace, dtype and errors") {
  Tensor x = tensor<double>({-1.0, 2.0});
  Tensor y = F::relu(x, /*inplace=*/true);
  CHECK(y.is_same(x));
  CHECK(testing::values(x) == std::vector<double>{0.0, 2.0});
  Tensor z = tensor<double>({-1.0, 2.0});
  F::leaky_relu(z, 0.5, true);
  CHECK(testing::values(z) == std::vector<double>{-0.5, 2.0});
  CHECK(F::softmax(tensor<float>({1.f, 2.f}), 0, kFloat64).dtype() == kFloat64);
  // inplace inside a recorded graph: the gradient flows through the overwritten tensor.
  for (const std::string name : {"relu", "leaky_relu", "silu", "dropout"}) {
    CAPTURE(name);
    Tensor leaf = tensor<double>({-1.5, 0.5, 2.0}).requires_grad_();
    Tensor h = leaf.mul(2);
    Tensor out = name == "relu"         ? F::relu(h, true)
                 : name == "leaky_relu" ? F::leaky_relu(h, 0.1, true)
                 : name == "silu"       ? F::silu(h, true)
                                        : F::dropout(h, 0.0, true, true);
    CHECK(out.is_same(h));
    out.sum().backward();
    Tensor ref_leaf = tensor<double>({-1.5, 0.5, 2.0}).requires_grad_();
    Tensor ref_h = ref_leaf.mul(2);
    Tensor ref = name == "relu"         ? F::relu(ref_h)
                 : name == "leaky_relu" ? F::leaky_relu(ref_h, 0.1)
                 : name == "silu"       ? F::silu(ref_h)
                                        : ref_h;
    ref.sum().backward();
    CHECK(testing::values(leaf.grad()) == testing::values(ref_leaf.grad()));
    CHECK(testing::values(h.detach()) == testing::values(ref.detach()));
  }
  {
    Generator g1(4), g2(4);
    Tensor leaf = ones({50}, {.dtype = kFloat64}).requires_grad_();
    Tensor h = leaf.mul(1);
    F::dropout(h, 0.5, true, true, &g1).sum().backward();
    const Tensor ref = F::dropout(ones({50}, {.dtype = kFloat64}), 0.5, true, false, &g2);
    CHECK(equal(leaf.grad(), ref));
    CHECK(equal(h.detach(), ref));
  }
  CHECK_THROWS_WITH_AS(F::gelu(x, "fast"), doctest::Contains("approximate argument must be either none or tanh"),
                       Error);
  CHECK_THROWS_WITH_AS(nn::GELU("fast"), doctest::Contains("approximate"), Error);
}

TEST_CASE("Linear: shapes, options, errors") {
  nn::Linear lin(784, 128);
  CHECK(lin.weight.sizes().vec() == Shape{128, 784});
  CHECK(lin.bias.sizes().vec() == Shape{128});
  CHECK(lin.weight.requires_grad());
  CHECK(lin.weight.dtype() == kFloat32);
  nn::Linear nb(4, 2, {.bias = false});
  CHECK_FALSE(nb.bias.defined());
  CHECK(nb.parameters().size() == 1);
  CHECK(nb.state_dict().keys() == std::vector<std::string>{"weight"});
  CHECK(nb(ones({3, 4})).sizes().vec() == Shape{3, 2});
  CHECK_THROWS_WITH_AS(lin(ones({2, 3})), doctest::Contains("does not end in in_features = 784"), Error);
  nn::Bilinear bl(2, 3, 4);
  CHECK(bl(ones({5, 2}), ones({5, 3})).sizes().vec() == Shape{5, 4});
  CHECK_THROWS_WITH_AS(bl(ones({5, 3}), ones({5, 3})), doctest::Contains("in1_features = 2"), Error);
  CHECK_THROWS_WITH_AS(bl(ones({5})), doctest::Contains("Bilinear has no forward(const Tensor&)"), Error);
}

namespace {
struct Moments {
  double mean, var, min, max;
};
Moments moments(const Tensor& t) {
  const Tensor d = t.detach().to(kFloat64);
  return {d.mean().item<double>(), d.var({}, 0).item<double>(), d.min().item<double>(), d.max().item<double>()};
}
}  // namespace

TEST_CASE("default initialisation matches PyTorch's distributions") {
  manual_seed(1234);
  // Linear: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_(a = sqrt(5))).
  nn::Linear lin(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  Moments w = moments(lin.weight);
  CHECK(w.min >= -bound);
  CHECK(w.max <= bound);
  CHECK(w.min < -0.99 * bound);
  CHECK(w.max > 0.99 * bound);
  CHECK(std::abs(w.mean) < 0.01 * bound);
  CHECK(w.var == doctest::Approx(bound * bound / 3).epsilon(0.02));
  Moments b = moments(lin.bias);
  CHECK(b.min >= -bound);
  CHECK(b.max <= bound);
  CHECK(b.var == doctest::Approx(bound * bound / 3).epsilon(0.3));
  // Bilinear: U(-1/sqrt(in1), 1/sqrt(in1)).
  nn::Bilinear bl(25, 30, 200);
  Moments bw = moments(bl.weight);
  CHECK(bw.min >= -0.2);
  CHECK(bw.max <= 0.2);
  CHECK(bw.var == doctest::Approx(0.04 / 3).epsilon(0.02));
  // Embedding: N(0, 1), the padding row zero.
  nn::Embedding emb(1000, 200, {.padding_idx = 7});
  Moments e = moments(emb.weight);
  CHECK(std::abs(e.mean) < 0.01);
  CHECK(e.var == doctest::Approx(1.0).epsilon(0.02));
  CHECK(emb.weight[7].abs().sum().item<double>() == 0.0);
  // LayerNorm: ones and zeros.
  nn::LayerNorm ln({3, 4});
  CHECK(ln.weight.eq(1).all().item<bool>());
  CHECK(ln.bias.eq(0).all().item<bool>());
  CHECK(ln.weight.requires_grad());
  nn::LayerNorm na(4, {.elementwise_affine = false});
  CHECK(na.parameters().empty());
  CHECK_FALSE(na.weight.defined());
}

TEST_CASE("nn::init: gains, fans and distributions") {
  CHECK(nn::init::calculate_gain("linear") == 1.0);
  CHECK(nn::init::calculate_gain("sigmoid") == 1.0);
  CHECK(nn::init::calculate_gain("conv2d") == 1.0);
  CHECK(nn::init::calculate_gain("tanh") == doctest::Approx(5.0 / 3));
  CHECK(nn::init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain("leaky_relu") == doctest::Approx(std::sqrt(2.0 / (1 + 0.0001))));
  CHECK(nn::init::calculate_gain("leaky_relu", 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
  CHECK(nn::init::calculate_gain("selu") == 0.75);
  CHECK_THROWS_WITH_AS(nn::init::calculate_gain("swish"), doctest::Contains("Unsupported nonlinearity swish"), Error);
  CHECK(nn::init::calculate_fan_in_and_fan_out(empty({8, 3, 5, 5})) == std::pair<int64_t, int64_t>{75, 200});
  CHECK_THROWS_WITH_AS(nn::init::calculate_fan_in_and_fan_out(empty({8})),
                       doctest::Contains("fewer than 2 dimensions"), Error);

  Generator g(99);
  Tensor t = empty({500, 400});
  // In place on the same storage, no history, even for a parameter.
  t.requires_grad_();
  const void* data = t.data_ptr();
  Tensor ret = nn::init::uniform_(t, -2, 3, &g);
  CHECK(ret.is_same(t));
  CHECK(t.data_ptr() == data);
  CHECK(t.is_leaf());
  Moments m = moments(t);
  CHECK(m.min >= -2);
  CHECK(m.max <= 3);
  CHECK(m.mean == doctest::Approx(0.5).epsilon(0.01));
  CHECK(m.var == doctest::Approx(25.0 / 12).epsilon(0.02));

  nn::init::normal_(t, 1.5, 2.0, &g);
  m = moments(t);
  CHECK(m.mean == doctest::Approx(1.5).epsilon(0.01));
  CHECK(m.var == doctest::Approx(4.0).epsilon(0.02));

  // kaiming_uniform_: bound = gain * sqrt(3 / fan).
  nn::init::kaiming_uniform_(t, {.nonlinearity = "relu"}, &g);
  double bound = std::sqrt(2.0) * std::sqrt(3.0 / 400);
  m = moments(t);
  CHECK(m.max <= bound);
  CHECK(m.min >= -bound);
  CHECK(m.var == doctest::Approx(bound * bound / 3).epsilon(0.02));
  nn::init::kaiming_uniform_(t, {.a = 0.3, .mode = "fan_out"}, &g);
  bound = std::sqrt(2.0 / 1.09) * std::sqrt(3.0 / 500);
  m = moments(t);
  CHECK(m.max <= bound);
  CHECK(m.var == doctest::Approx(bound * bound / 3).epsilon(0.02));
  // kaiming_normal_: std = gain / sqrt(fan).
  nn::init::kaiming_normal_(t, {.mode = "fan_out", .nonlinearity = "relu"}, &g);
  m = moments(t);
  CHECK(std::abs(m.mean) < 0.002);
  CHECK(m.var == doctest::Approx(2.0 / 500).epsilon(0.02));
  CHECK_THROWS_WITH_AS(nn::init::kaiming_normal_(t, {.mode = "fan_avg"}), doctest::Contains("Mode fan_avg not supported"),
                       Error);
  // xavier: std = gain * sqrt(2 / (fan_in + fan_out)).
  nn::init::xavier_uniform_(t, 2.0, &g);
  const double xs = 2.0 * std::sqrt(2.0 / 900);
  m = moments(t);
  CHECK(m.max <= std::sqrt(3.0) * xs);
  CHECK(m.var == doctest::Approx(xs * xs).epsilon(0.02));
  nn::init::xavier_normal_(t, 1.0, &g);
  m = moments(t);
  CHECK(m.var == doctest::Approx(2.0 / 900).epsilon(0.02));
  // trunc_normal_: inside [a, b]; the truncated normal's variance.
  nn::init::trunc_normal_(t, 0.0, 1.0, -1.0, 2.0, &g);
  m = moments(t);
  CHECK(m.min >= -1.0);
  CHECK(m.max <= 2.0);
  // Truncated N(0,1) on [-1, 2]: mean = (phi(-1) - phi(2)) / Z, Z = Phi(2) - Phi(-1).
  const auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * M_PI); };
  const auto Phi = [](double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))); };
  const double Z = Phi(2) - Phi(-1);
  const double tmean = (phi(-1) - phi(2)) / Z;
  const double tvar = 1 + (-1 * phi(-1) - 2 * phi(2)) / Z - tmean * tmean;
  CHECK(m.mean == doctest::Approx(tmean).epsilon(0.02));
  CHECK(m.var == doctest::Approx(tvar).epsilon(0.02));
  // Constants.
  nn::init::constant_(t, 0.25);
  CHECK(t.eq(0.25).all().item<bool>());
  nn::init::zeros_(t);
  CHECK(t.eq(0).all().item<bool>());
  nn::init::ones_(t);
  CHECK(t.eq(1).all().item<bool>());
  Tensor e = empty({2, 3});
  nn::init::eye_(e);
  CHECK(testing::values(e) == std::vector<double>{1, 0, 0, 0, 1, 0});
  // Same generator seed, same values.
  Generator g1(7), g2(7);
  Tensor a = empty({10}), b = empty({10});
  nn::init::normal_(a, 0, 1, &g1);
  nn::init::normal_(b, 0, 1, &g2);
  CHECK(equal(a, b));
}

TEST_CASE("Dropout: training, eval, scaling and gradient") {
  manual_seed(0);
  nn::Dropout drop(0.3);
  CHECK(drop.is_training());
  Tensor x = ones({200, 500}, {.dtype = kFloat64}).requires_grad_();
  Tensor y = drop(x);
  // Every output is 0 or 1 / (1 - p); about a fraction p are zero.
  const Tensor zero = y.eq(0);
  const Tensor kept = y.sub(1 / 0.7).abs().lt(1e-12);
  CHECK(zero.logical_or(kept).all().item<bool>());
  const double frac = zero.to(kFloat64).mean().item<double>();
  CHECK(frac == doctest::Approx(0.3).epsilon(0.02));
  // The gradient is the same mask, scaled.
  y.sum().backward();
  CHECK(equal(x.grad(), y.detach()));
  // Eval: the identity (the same tensor).
  drop.eval();
  CHECK_FALSE(drop.is_training());
  CHECK(drop(x).is_same(x));
  // p = 0 and p = 1.
  nn::Dropout none(0.0);
  CHECK(none(x).is_same(x));
  nn::Dropout all({.p = 1.0});
  CHECK(all(x).eq(0).all().item<bool>());
  // A generator makes it reproducible.
  Generator g1(3), g2(3);
  nn::Dropout d1({.p = 0.5, .generator = &g1}), d2({.p = 0.5, .generator = &g2});
  CHECK(equal(d1(x), d2(x)));
  CHECK(equal(F::dropout(x, 0.5, false), x));
  CHECK_THROWS_WITH_AS(nn::Dropout(1.5), doctest::Contains("dropout probability has to be between 0 and 1, but got 1.5"),
                       Error);
  // train()/eval() reach Dropout inside containers.
  nn::Sequential seq(nn::Linear(4, 4), nn::Dropout(0.5));
  seq.eval();
  CHECK_FALSE(seq.at<nn::Dropout>(1)->is_training());
  Tensor in = ones({3, 4});
  CHECK(equal(seq(in), seq(in)));
  seq.train();
  CHECK(seq[1]->is_training());
}

TEST_CASE("Embedding: shapes, errors, from_pretrained") {
  nn::Embedding emb(10, 3);
  CHECK(emb(tensor<int64_t>({{1, 2}, {3, 4}})).sizes().vec() == Shape{2, 2, 3});
  CHECK(emb(scalar_tensor(int64_t{4})).sizes().vec() == Shape{3});
  CHECK(emb(tensor<int32_t>({1, 2})).sizes().vec() == Shape{2, 3});
  CHECK_THROWS_WITH_AS(emb(tensor<int64_t>({10})), doctest::Contains("index out of range in self"), Error);
  CHECK_THROWS_WITH_AS(emb(tensor<float>({1.f})), doctest::Contains("int64 or int32"), Error);
  CHECK_THROWS_WITH_AS(nn::Embedding(3, 2, {.padding_idx = 3}), doctest::Contains("Padding_idx must be within"), Error);
  Tensor w = tensor<double>({{1.0, 2.0}, {3.0, 4.0}});
  auto pre = nn::Embedding::from_pretrained(w);
  CHECK_FALSE(pre->weight.requires_grad());
  CHECK(equal(pre->weight, w));
  CHECK(pre->weight.dtype() == kFloat64);
  CHECK(nn::Embedding::from_pretrained(w, false)->weight.requires_grad());
}

TEST_CASE("Flatten, Unflatten, Identity, LayerNorm errors") {
  Tensor x = ones({2, 3, 4});
  CHECK(nn::Flatten()(x).sizes().vec() == Shape{2, 12});
  CHECK(nn::Unflatten(-1, {2, -1})(x).sizes().vec() == Shape{2, 3, 2, 2});
  CHECK_THROWS_WITH_AS(nn::Unflatten(1, {2, 2})(x), doctest::Contains("does not multiply to size 3"), Error);
  CHECK(nn::Identity()(x).is_same(x));
  CHECK_THROWS_WITH_AS(nn::LayerNorm(3)(x), doctest::Contains("Given normalized_shape=[3]"), Error);
}
