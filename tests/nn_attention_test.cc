// Attention (nn/functional/attention.h, nn/attention.h): scaled_dot_product_attention
// against PyTorch 2.x's documented math and MultiheadAttention against PyTorch 1.13
// (golden/nn_conv_golden.inc, float64, 1e-10), gradchecks, dropout, init, reprs, errors.
#include "fulgur/tests/test_util.h"
#include "tests/golden/nn_conv_golden.inc"

#include <map>

using namespace fulgur;
using namespace fulgur::testing;
using nn_golden::GCase;

namespace {

Tensor rnd(IntArrayRef shape, std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
  return random_tensor(shape, kFloat64, rng, Layout::Contiguous, lo, hi);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(',', start);
    const std::string part = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("golden: scaled_dot_product_attention (masks bool / float, causal, scale, batch dims)") {
  const auto cases = nn_golden::cases_of_kind("sdpa");
  REQUIRE(cases.size() >= 5);
  for (const GCase* cp : cases) {
    const GCase& c = *cp;
    INFO(c.name);
    Tensor q = nn_golden::tensor(c, "query").requires_grad_();
    Tensor k = nn_golden::tensor(c, "key").requires_grad_();
    Tensor v = nn_golden::tensor(c, "value").requires_grad_();
    std::optional<double> scale;
    if (nn_golden::has_real(c, "scale")) scale = nn_golden::real(c, "scale");
    const Tensor out = F::scaled_dot_product_attention(q, k, v, nn_golden::tensor(c, "attn_mask"), 0.0,
                                                       nn_golden::int1(c, "is_causal") != 0, scale);
    nn_golden::expect_golden(out, c, "out");
    out.mul(nn_golden::tensor(c, "grad_out")).sum().backward();
    nn_golden::expect_golden(q.grad(), c, "grad.query");
    nn_golden::expect_golden(k.grad(), c, "grad.key");
    nn_golden::expect_golden(v.grad(), c, "grad.value");
  }
}

TEST_CASE("golden: MultiheadAttention matches PyTorch 1.13 (outputs, weights, gradients of inputs and parameters)") {
  const auto cases = nn_golden::cases_of_kind("mha");
  REQUIRE(cases.size() >= 10);
  for (const GCase* cp : cases) {
    const GCase& c = *cp;
    INFO(c.name);
    using nn_golden::int1;
    const int64_t E = int1(c, "embed_dim");
    nn::MultiheadAttention mha(E, int1(c, "num_heads"),
                               {.bias = int1(c, "bias") != 0,
                                .add_bias_kv = int1(c, "add_bias_kv") != 0,
                                .add_zero_attn = int1(c, "add_zero_attn") != 0,
                                .kdim = int1(c, "kdim"),
                                .vdim = int1(c, "vdim"),
                                .batch_first = int1(c, "batch_first") != 0,
                                .dtype = kFloat64});
    // Parameter names and order as PyTorch; load the golden values into them.
    const auto named = mha.named_parameters();
    std::vector<std::string> names;
    for (const auto& [n, t] : named) names.push_back(n);
    CHECK(names == split(nn_golden::str(c, "param_names")));
    {
      NoGradGuard g;
      for (const auto& [n, t] : named) {
        Tensor p = t;
        p.copy_(nn_golden::tensor(c, "param." + n));
      }
    }
    CHECK(mha.repr() == nn_golden::str(c, "repr"));
    const bool self_attn = int1(c, "self_attn") != 0;
    Tensor q = nn_golden::tensor(c, "query").requires_grad_();
    Tensor k = self_attn ? q : nn_golden::tensor(c, "key").requires_grad_();
    Tensor v = self_attn ? q : nn_golden::tensor(c, "value").requires_grad_();
    const bool need_weights = int1(c, "need_weights") != 0;
    auto [out, weights] = mha(q, k, v,
                              {.key_padding_mask = nn_golden::tensor(c, "key_padding_mask"),
                               .need_weights = need_weights,
                               .attn_mask = nn_golden::tensor(c, "attn_mask"),
                               .average_attn_weights = int1(c, "average_attn_weights") != 0});
    nn_golden::expect_golden(out, c, "out");
    if (need_weights) nn_golden::expect_golden(weights, c, "weights");
    else CHECK(!weights.defined());
    out.mul(nn_golden::tensor(c, "grad_out")).sum().backward();
    nn_golden::expect_golden(q.grad(), c, "grad.query");
    if (!self_attn) {
      nn_golden::expect_golden(k.grad(), c, "grad.key");
      nn_golden::expect_golden(v.grad(), c, "grad.value");
    }
    for (const auto& [n, t] : named) nn_golden::expect_golden(t.grad(), c, "grad.param." + n);
  }
}

TEST_CASE("gradcheck (float64): scaled_dot_product_attention and multi_head_attention_forward") {
  std::mt19937 rng(1);
  const autograd::GradcheckOptions second{.check_second_order = true};
  {
    const Tensor mask = from_vector<bool>({true, false, true, true, true, true, false, true, true, false, true, true},
                                          Shape{3, 4});
    auto f = [&](const std::vector<Tensor>& v) { return F::scaled_dot_product_attention(v[0], v[1], v[2], mask); };
    CHECK(autograd::gradcheck(f, {rnd({2, 3, 2}, rng).requires_grad_(), rnd({2, 4, 2}, rng).requires_grad_(),
                                  rnd({2, 4, 3}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) {
      return F::scaled_dot_product_attention(v[0], v[1], v[2], v[3], 0.0, false, 0.7);
    };
    CHECK(autograd::gradcheck(f, {rnd({1, 3, 2}, rng).requires_grad_(), rnd({1, 3, 2}, rng).requires_grad_(),
                                  rnd({1, 3, 2}, rng).requires_grad_(), rnd({3, 3}, rng).requires_grad_()}));
  }
  {
    auto f = [](const std::vector<Tensor>& v) {
      return F::scaled_dot_product_attention(v[0], v[1], v[2], Tensor(), 0.0, /*is_causal=*/true);
    };
    CHECK(autograd::gradcheck(f, {rnd({4, 2}, rng).requires_grad_(), rnd({4, 2}, rng).requires_grad_(),
                                  rnd({4, 2}, rng).requires_grad_()}));
  }
  {
    // [L=3, N=2, E=4], 2 heads, key padding and a float mask; all weights are inputs.
    const Tensor kpm = from_vector<bool>({false, false, true, false, false, false}, Shape{2, 3});
    const Tensor am = rnd({3, 3}, rng);
    auto f = [&](const std::vector<Tensor>& v) {
      return std::get<0>(F::multi_head_attention_forward(v[0], v[1], v[2], 4, 2, v[3], v[4], Tensor(), Tensor(), false,
                                                         0.0, v[5], v[6], true, kpm, false, am));
    };
    CHECK(autograd::gradcheck(f, {rnd({3, 2, 4}, rng).requires_grad_(), rnd({3, 2, 4}, rng).requires_grad_(),
                                  rnd({3, 2, 4}, rng).requires_grad_(), rnd({12, 4}, rng, -0.5, 0.5).requires_grad_(),
                                  rnd({12}, rng).requires_grad_(), rnd({4, 4}, rng, -0.5, 0.5).requires_grad_(),
                                  rnd({4}, rng).requires_grad_()}));
  }
}

TEST_CASE("attention dropout: seeded, zero or rescaled weights, off in eval mode") {
  std::mt19937 rng(2);
  const Tensor q = rnd({2, 5, 4}, rng), k = rnd({2, 6, 4}, rng), v = rnd({2, 6, 3}, rng);
  auto [out0, w0] = F::scaled_dot_product_attention_with_weights(q, k, v);
  Generator g1(123), g2(123);
  auto [out1, w1] = F::scaled_dot_product_attention_with_weights(q, k, v, Tensor(), 0.25, false, std::nullopt, &g1);
  auto [out2, w2] = F::scaled_dot_product_attention_with_weights(q, k, v, Tensor(), 0.25, false, std::nullopt, &g2);
  CHECK(equal(out1, out2));  // same seed, same mask
  const auto a = w0.to_vector<double>(), b = w1.to_vector<double>();
  int dropped = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (b[i] == 0.0) {
      ++dropped;
    } else {
      CHECK(std::abs(b[i] - a[i] / 0.75) < 1e-12);
    }
  }
  CHECK(dropped > 0);
  CHECK(dropped < static_cast<int>(a.size()) / 2);
  CHECK(allclose(out1, w1.matmul(v), 1e-12, 1e-12));
  // dropout_p = 0 is exact attention; a module in eval mode ignores its dropout.
  CHECK(equal(F::scaled_dot_product_attention(q, k, v, Tensor(), 0.0), out0));
  Generator g3(7);
  nn::MultiheadAttention mha(4, 2, {.dropout = 0.5, .generator = &g3, .dtype = kFloat64});
  const Tensor x = rnd({5, 2, 4}, rng);
  mha.eval();
  auto [e1, ew1] = mha(x, x, x);
  auto [e2, ew2] = mha(x, x, x);
  CHECK(equal(e1, e2));
  mha.train();
  auto [t1, tw1] = mha(x, x, x);
  CHECK(!equal(t1, e1));
}

TEST_CASE("MultiheadAttention: default initialisation, causal flag, self-attention forward, batch_first") {
  nn::MultiheadAttention mha(16, 4);
  CHECK(mha.in_proj_weight.sizes() == IntArrayRef({48, 16}));
  // xavier_uniform_: bound sqrt(6 / (fan_in + fan_out)) = sqrt(6 / 64).
  const double bound = std::sqrt(6.0 / 64.0);
  double lo = 1, hi = -1, sq = 0;
  for (double v : mha.in_proj_weight.to_vector<double>()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sq += v * v;
  }
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi > 0.9 * bound);
  CHECK(std::abs(sq / 768.0 - bound * bound / 3) < 0.2 * bound * bound / 3);
  CHECK(mha.in_proj_bias.to_vector<double>() == std::vector<double>(48, 0.0));
  CHECK(mha.out_proj->bias.to_vector<double>() == std::vector<double>(16, 0.0));
  for (double v : mha.out_proj->weight.to_vector<double>()) CHECK(std::abs(v) <= 0.25);  // Linear: 1/sqrt(16)
  nn::MultiheadAttention kv(8, 2, {.add_bias_kv = true, .kdim = 3, .vdim = 5});
  CHECK(kv.k_proj_weight.sizes() == IntArrayRef({8, 3}));
  CHECK(kv.v_proj_weight.sizes() == IntArrayRef({8, 5}));
  CHECK(!kv.in_proj_weight.defined());
  CHECK(kv.bias_k.sizes() == IntArrayRef({1, 1, 8}));

  std::mt19937 rng(3);
  nn::MultiheadAttention m(6, 3, {.dtype = kFloat64});
  const Tensor x = rnd({4, 2, 6}, rng);
  const Tensor causal = F::causal_mask(4);
  CHECK(causal.to_vector<bool>() ==
        std::vector<bool>{false, true, true, true, false, false, true, true, false, false, false, true, false, false,
                          false, false});
  auto [a, aw] = m(x, x, x, {.attn_mask = causal});
  auto [b, bw] = m(x, x, x, {.is_causal = true});
  CHECK(equal(a, b));
  CHECK(equal(aw, bw));
  CHECK(equal(m(x), std::get<0>(m(x, x, x))));
  // batch_first is the sequence-first result transposed.
  nn::MultiheadAttention mb(6, 3, {.batch_first = true, .dtype = kFloat64});
  {
    NoGradGuard g;
    for (size_t i = 0; i < m.parameters().size(); ++i) {
      Tensor p = mb.parameters()[i];
      p.copy_(m.parameters()[i]);
    }
  }
  auto [bf, bfw] = mb(x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1));
  CHECK(allclose(bf, std::get<0>(m(x, x, x)).transpose(0, 1), 1e-12, 1e-12));
  // The SDPA mask convention is the opposite of MHA's: true = attend.
  const Tensor qh = rnd({2, 4, 3}, rng);
  CHECK(allclose(F::scaled_dot_product_attention(qh, qh, qh, causal.logical_not()),
                 F::scaled_dot_product_attention(qh, qh, qh, Tensor(), 0.0, true), 1e-12, 1e-12));
}

TEST_CASE("MultiheadAttention repr (golden) and errors") {
  const std::map<std::string, std::shared_ptr<nn::Module>> modules = {
      {"mha", std::make_shared<nn::MultiheadAttention>(8, 2)},
      {"mha_nobias", std::make_shared<nn::MultiheadAttention>(8, 2, nn::MultiheadAttentionOptions{
                                                                        .bias = false, .kdim = 3, .vdim = 5})},
  };
  for (const auto& [name, m] : modules) {
    INFO(name);
    const GCase& c = nn_golden::find_case("repr_" + name);
    CHECK(m->repr() == nn_golden::str(c, "repr"));
    std::string names;
    for (const auto& [n, t] : m->named_parameters()) names += (names.empty() ? "" : ",") + n;
    CHECK(names == nn_golden::str(c, "param_names"));
  }
  CHECK(contains(error_message([] { nn::MultiheadAttention(10, 3); }), "embed_dim must be divisible by num_heads"));
  nn::MultiheadAttention m(4, 2);
  const Tensor x = zeros({3, 2, 4});
  CHECK(contains(error_message([&] { m(x, x, x, {.attn_mask = zeros({3, 4}, {.dtype = kBool})}); }),
                 "The shape of the 2D attn_mask is [3, 4], but should be [3, 3]."));
  CHECK(contains(error_message([&] { m(x, x, x, {.key_padding_mask = zeros({2, 4}, {.dtype = kBool})}); }),
                 "expecting key_padding_mask shape of [2, 3], but got [2, 4]"));
  CHECK(contains(error_message([&] { m(zeros({3, 2, 2, 4}), x, x); }),
                 "query should be unbatched 2D or batched 3D tensor but received 4-D query tensor"));
  CHECK(contains(error_message([&] {
          F::scaled_dot_product_attention(x, x, x, zeros({3, 3}, {.dtype = kBool}), 0.0, true);
        }),
                 "Explicit attn_mask should not be set when is_causal=True"));
}
