// Losses (F:: and module forms) and gradient clipping against PyTorch 1.13:
// tests/golden/nn_loss_golden.inc, written by tools/gen_nn_golden.py (run with Debian's
// PyTorch: /usr/bin/python3 tools/gen_nn_golden.py). Each loss case stores input, target,
// the option tensors (weight, pos_weight), the loss, an upstream gradient gy and the input's
// gradient of sum(loss * gy); all float64. Also gradcheck of every loss and the errors.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

#include "tests/golden/nn_loss_golden.inc"

using namespace fulgur;

namespace {

const nn_golden::GoldenTensor* find_golden(const std::string& name) {
  for (const auto& g : nn_golden::tensors())
    if (name == g.name) return &g;
  return nullptr;
}

Tensor golden(const std::string& name) {
  const nn_golden::GoldenTensor* g = find_golden(name);
  REQUIRE_MESSAGE(g != nullptr, "no golden tensor ", name);
  Tensor t = from_vector(g->values, g->shape);
  if (g->kind == 'i') return t.to(kInt64);
  if (g->kind == 'b') return t.to(kBool);
  return t;
}

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

// (case name, input, target, use the module form) -> loss.
using LossFn = std::function<Tensor(const std::string&, const Tensor&, const Tensor&, bool)>;

template <class Module, class Options, class Fn>
Tensor run(const Options& o, const Tensor& x, const Tensor& t, bool module, Fn fn) {
  if (module) {
    Module m(o);
    return m(x, t);
  }
  return fn(x, t, o);
}

std::map<std::string, LossFn> loss_cases() {
  std::map<std::string, LossFn> c;
  for (const std::string red : {"mean", "sum", "none"}) {
    auto ce = [red](double ls, bool weight, std::optional<int64_t> ignore) -> LossFn {
      return [=](const std::string& name, const Tensor& x, const Tensor& t, bool mod) {
        nn::CrossEntropyLossOptions o{.reduction = red, .label_smoothing = ls};
        if (weight) o.weight = golden(name + "/weight");
        if (ignore) o.ignore_index = *ignore;
        return run<nn::CrossEntropyLoss>(o, x, t, mod,
                                         [](auto& a, auto& b, auto& o) { return F::cross_entropy(a, b, o); });
      };
    };
    c["ce_" + red] = ce(0, false, {});
    c["ce_weight_" + red] = ce(0, true, {});
    c["ce_ignore_" + red] = ce(0, false, 2);
    c["ce_weight_ignore_" + red] = ce(0, true, 2);
    c["ce_ls_" + red] = ce(0.1, false, {});
    c["ce_ls_weight_" + red] = ce(0.2, true, {});
    c["ce_ls_ignore_" + red] = ce(0.15, false, 2);
    c["ce_ls_weight_ignore_" + red] = ce(0.3, true, 2);
    c["ce_prob_" + red] = ce(0, false, {});
    c["ce_prob_ls_" + red] = ce(0.25, false, {});
    c["ce_prob_weight_" + red] = ce(0, true, {});
    c["ce_kdim_" + red] = ce(0, false, {});
    c["ce_kdim_ignore_ls_" + red] = ce(0.1, false, {});
    c["ce_1d_" + red] = ce(0, false, {});

    auto nll = [red](bool weight, std::optional<int64_t> ignore) -> LossFn {
      return [=](const std::string& name, const Tensor& x, const Tensor& t, bool mod) {
        nn::NLLLossOptions o{.reduction = red};
        if (weight) o.weight = golden(name + "/weight");
        if (ignore) o.ignore_index = *ignore;
        return run<nn::NLLLoss>(o, x, t, mod, [](auto& a, auto& b, auto& o) { return F::nll_loss(a, b, o); });
      };
    };
    c["nll_" + red] = nll(false, {});
    c["nll_weight_" + red] = nll(true, {});
    c["nll_weight_ignore_" + red] = nll(true, 2);
    c["nll_kdim_" + red] = nll(false, {});

    c["mse_" + red] = [red](auto&, auto& x, auto& t, bool mod) {
      return run<nn::MSELoss>(nn::MSELossOptions{red}, x, t, mod, [](auto& a, auto& b, auto& o) { return F::mse_loss(a, b, o); });
    };
    c["l1_" + red] = [red](auto&, auto& x, auto& t, bool mod) {
      return run<nn::L1Loss>(nn::L1LossOptions{red}, x, t, mod, [](auto& a, auto& b, auto& o) { return F::l1_loss(a, b, o); });
    };
    auto sl1 = [red](double beta) -> LossFn {
      return [=](auto&, auto& x, auto& t, bool mod) {
        return run<nn::SmoothL1Loss>(nn::SmoothL1LossOptions{.reduction = red, .beta = beta}, x, t, mod,
                                     [](auto& a, auto& b, auto& o) { return F::smooth_l1_loss(a, b, o); });
      };
    };
    c["smooth_l1_" + red] = sl1(1.0);
    c["smooth_l1_beta0.5_" + red] = sl1(0.5);
    c["smooth_l1_beta0_" + red] = sl1(0.0);

    auto bce = [red](bool weight) -> LossFn {
      return [=](const std::string& name, const Tensor& x, const Tensor& t, bool mod) {
        nn::BCELossOptions o{.reduction = red};
        if (weight) o.weight = golden(name + "/weight");
        return run<nn::BCELoss>(o, x, t, mod, [](auto& a, auto& b, auto& o) { return F::binary_cross_entropy(a, b, o); });
      };
    };
    c["bce_" + red] = bce(false);
    c["bce_weight_" + red] = bce(true);
    auto bcel = [red](bool weight, bool pos_weight) -> LossFn {
      return [=](const std::string& name, const Tensor& x, const Tensor& t, bool mod) {
        nn::BCEWithLogitsLossOptions o{.reduction = red};
        if (weight) o.weight = golden(name + "/weight");
        if (pos_weight) o.pos_weight = golden(name + "/pos_weight");
        return run<nn::BCEWithLogitsLoss>(
            o, x, t, mod, [](auto& a, auto& b, auto& o) { return F::binary_cross_entropy_with_logits(a, b, o); });
      };
    };
    c["bce_logits_" + red] = bcel(false, false);
    c["bce_logits_weight_" + red] = bcel(true, false);
    c["bce_logits_pos_weight_" + red] = bcel(false, true);
    c["bce_logits_both_" + red] = bcel(true, true);
  }
  for (const std::string red : {"mean", "sum", "none", "batchmean"}) {
    auto kl = [red](bool log_target) -> LossFn {
      return [=](auto&, auto& x, auto& t, bool mod) {
        return run<nn::KLDivLoss>(nn::KLDivLossOptions{.reduction = red, .log_target = log_target}, x, t, mod,
                                  [](auto& a, auto& b, auto& o) { return F::kl_div(a, b, o); });
      };
    };
    c["kl_" + red] = kl(false);
    c["kl_zero_" + red] = kl(false);
    c["kl_log_target_" + red] = kl(true);
  }
  return c;
}

using ClipFn = std::function<Tensor(const std::vector<Tensor>&)>;
std::map<std::string, ClipFn> clip_cases() {
  std::map<std::string, ClipFn> c;
  c["clip_norm_2"] = [](auto& ps) { return nn::utils::clip_grad_norm_(ps, 1.0); };
  c["clip_norm_inf"] = [](auto& ps) { return nn::clip_grad_norm_(ps, 0.5, nn::utils::kInf); };
  c["clip_norm_1"] = [](auto& ps) { return nn::clip_grad_norm_(ps, 2.0, 1.0); };
  c["clip_norm_3"] = [](auto& ps) { return nn::clip_grad_norm_(ps, 1.5, 3.0); };
  c["clip_norm_noop"] = [](auto& ps) { return nn::clip_grad_norm_(ps, 100.0); };
  c["clip_norm_single"] = [](auto& ps) { return nn::clip_grad_norm_(ps[0], 1.0); };
  c["clip_value"] = [](auto& ps) {
    nn::clip_grad_value_(ps, 0.75);
    return Tensor();
  };
  return c;
}

}  // namespace

TEST_CASE("losses: golden cases and builders match one to one") {
  const auto losses = loss_cases();
  const auto clips = clip_cases();
  std::set<std::string> golden_cases(nn_golden::cases().begin(), nn_golden::cases().end());
  for (const auto& c : golden_cases)
    CHECK_MESSAGE(losses.count(c) + clips.count(c) == 1, "no builder for golden case ", c);
  for (const auto& [c, b] : losses) CHECK_MESSAGE(golden_cases.count(c) == 1, "no golden case for builder ", c);
  for (const auto& [c, b] : clips) CHECK_MESSAGE(golden_cases.count(c) == 1, "no golden case for builder ", c);
}

TEST_CASE("losses: values and input gradients match PyTorch (F:: and modules)") {
  for (const auto& [c, fn] : loss_cases()) {
    for (bool module : {false, true}) {
      CAPTURE(c);
      CAPTURE(module);
      Tensor x = golden(c + "/input").requires_grad_();
      const Tensor t = golden(c + "/target");
      Tensor y = fn(c, x, t, module);
      check_close(y, c + "/y");
      y.backward(golden(c + "/gy").expand(y.sizes()).contiguous());
      check_close(x.grad(), c + "/grad_input");
    }
  }
}

TEST_CASE("clip_grad_norm_ / clip_grad_value_ match PyTorch") {
  for (const auto& [c, fn] : clip_cases()) {
    CAPTURE(c);
    std::vector<Tensor> params;
    for (int i = 0; find_golden(c + "/grad" + std::to_string(i)); ++i) {
      const Tensor g = golden(c + "/grad" + std::to_string(i));
      Tensor p = zeros(g.sizes().vec(), {.dtype = kFloat64}).requires_grad_();
      p.mutable_grad() = g.clone();
      params.push_back(p);
    }
    const void* grad_data = params[0].grad().data_ptr();
    Tensor total = fn(params);
    if (find_golden(c + "/total_norm")) check_close(total, c + "/total_norm");
    for (size_t i = 0; i < params.size(); ++i) check_close(params[i].grad(), c + "/clipped" + std::to_string(i));
    CHECK(params[0].grad().data_ptr() == grad_data);  // in place
  }
  // No gradients: total norm 0, nothing touched.
  Tensor p = zeros({3}).requires_grad_();
  CHECK(nn::clip_grad_norm_(std::vector<Tensor>{p}, 1.0).item<double>() == 0.0);
  CHECK_FALSE(p.grad().defined());
  // error_if_nonfinite.
  Tensor q = zeros({2}).requires_grad_();
  q.mutable_grad() = tensor<float>({1.f, std::numeric_limits<float>::infinity()});
  CHECK_THROWS_WITH_AS(nn::clip_grad_norm_(q, 1.0, 2.0, true), doctest::Contains("is non-finite"), Error);
  // With a model: clip after backward.
  nn::Linear lin(3, 2);
  lin(ones({4, 3})).sum().mul(1000).backward();
  const double before = nn::clip_grad_norm_(lin.parameters(), 1.0).item<double>();
  CHECK(before > 1.0);
  double after = 0;
  for (const Tensor& t : lin.parameters()) after += t.grad().square().sum().item<double>();
  CHECK(std::sqrt(after) == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("gradcheck: losses in float64") {
  using autograd::gradcheck;
  auto r = [](Shape s, uint64_t seed, double lo = -2, double hi = 2) {
    Generator g(seed);
    return rand(s, {.dtype = kFloat64}, &g).mul(hi - lo).add(lo).requires_grad_();
  };
  const Tensor y = tensor<int64_t>({1, 0, 3});
  const Tensor yk = tensor<int64_t>({{0, 2}, {-100, 1}});
  const Tensor w = tensor<double>({0.5, 1.0, 2.0, 1.5});
  for (const std::string red : {"mean", "sum", "none"}) {
    CAPTURE(red);
    CHECK(gradcheck([&](auto& in) { return F::cross_entropy(in[0], y, {.weight = w, .reduction = red}); },
                    {r({3, 4}, 1)}));
    CHECK(gradcheck(
        [&](auto& in) {
          return F::cross_entropy(in[0], yk, {.weight = w.narrow(0, 0, 3), .reduction = red, .label_smoothing = 0.2});
        },
        {r({2, 3, 2}, 2)}));
    // Class probabilities: gradient with respect to the logits and the target.
    CHECK(gradcheck([&](auto& in) { return F::cross_entropy(in[0], in[1], {.reduction = red, .label_smoothing = 0.1}); },
                    {r({3, 4}, 3), r({3, 4}, 4, 0, 1)}));
    CHECK(gradcheck([&](auto& in) { return F::nll_loss(in[0], y, {.weight = w, .ignore_index = 0, .reduction = red}); },
                    {r({3, 4}, 5)}));
    // Second order through the fused log_softmax and nll_loss primitives (gradient penalties).
    CHECK(gradcheck([&](auto& in) { return F::cross_entropy(in[0], yk, {.weight = w.narrow(0, 0, 3), .reduction = red}); },
                    {r({2, 3, 2}, 10)}, {.check_second_order = true}));
    CHECK(gradcheck([&](auto& in) { return F::mse_loss(in[0], in[1], {red}); }, {r({3, 4}, 6), r({3, 4}, 7)}));
    CHECK(gradcheck([&](auto& in) { return F::l1_loss(in[0], in[1], {red}); }, {r({3, 4}, 8), r({3, 4}, 9)}));
    CHECK(gradcheck([&](auto& in) { return F::smooth_l1_loss(in[0], in[1], {.reduction = red, .beta = 0.7}); },
                    {r({3, 4}, 10), r({3, 4}, 11)}));
    CHECK(gradcheck([&](auto& in) { return F::binary_cross_entropy(in[0], in[1], {.weight = in[2], .reduction = red}); },
                    {r({3, 4}, 12, 0.05, 0.95), r({3, 4}, 13, 0, 1), r({3, 4}, 14, 0.5, 2)}));
    CHECK(gradcheck(
        [&](auto& in) {
          return F::binary_cross_entropy_with_logits(in[0], in[1],
                                                     {.weight = in[2], .pos_weight = in[3], .reduction = red});
        },
        {r({3, 4}, 15, -5, 5), r({3, 4}, 16, 0, 1), r({3, 4}, 17, 0.5, 2), r({4}, 18, 0.5, 3)}));
    CHECK(gradcheck([&](auto& in) { return F::kl_div(in[0], in[1], {.reduction = red}); },
                    {r({3, 4}, 19, -3, -0.1), r({3, 4}, 20, 0.05, 1)}));
    CHECK(gradcheck([&](auto& in) { return F::kl_div(in[0], in[1], {.reduction = red, .log_target = true}); },
                    {r({3, 4}, 21, -3, -0.1), r({3, 4}, 22, -3, -0.1)}));
  }
}

TEST_CASE("losses: edge cases and errors") {
  const Tensor x = tensor<double>({{0.1, 0.2, 0.3}, {0.5, -1.0, 2.0}});
  // Every target ignored: mean is 0 / 0 = nan, as PyTorch.
  CHECK(std::isnan(F::cross_entropy(x, tensor<int64_t>({-100, -100})).item<double>()));
  CHECK(F::cross_entropy(x, tensor<int64_t>({-100, -100}), {.reduction = "sum"}).item<double>() == 0.0);
  // Default reduction is mean; module and F:: agree.
  nn::CrossEntropyLoss criterion;
  CHECK(criterion(x, tensor<int64_t>({0, 2})).item<double>() ==
        F::cross_entropy(x, tensor<int64_t>({0, 2})).item<double>());
  CHECK_THROWS_WITH_AS(F::cross_entropy(x, tensor<int64_t>({0, 3})), doctest::Contains("Target 3 is out of bounds"),
                       Error);
  CHECK_THROWS_WITH_AS(F::cross_entropy(x, tensor<int64_t>({0, 1, 2})),
                       doctest::Contains("Expected input batch_size (2) to match target batch_size (3)"), Error);
  CHECK_THROWS_WITH_AS(F::cross_entropy(x, tensor<int64_t>({0, 1}), {.reduction = "avg"}),
                       doctest::Contains("\"avg\" is not a valid value for reduction"), Error);
  CHECK_THROWS_WITH_AS(F::cross_entropy(x, tensor<int64_t>({0, 1}), {.label_smoothing = 1.5}),
                       doctest::Contains("label_smoothing must be between 0.0 and 1.0"), Error);
  CHECK_THROWS_WITH_AS(F::cross_entropy(x, tensor<int64_t>({0, 1}), {.weight = ones({2}, {.dtype = kFloat64})}),
                       doctest::Contains("weight tensor should be defined either for all 3 classes"), Error);
  CHECK_THROWS_WITH_AS(F::cross_entropy(x, ones({2, 2}, {.dtype = kFloat64})),
                       doctest::Contains("class-probability targets must have the input's shape"), Error);
  CHECK_THROWS_WITH_AS(F::binary_cross_entropy(x, x), doctest::Contains("all elements of input should be between 0 and 1"),
                       Error);
  CHECK_THROWS_WITH_AS(F::binary_cross_entropy_with_logits(x, ones({2})),
                       doctest::Contains("Using a target size ([2]) that is different to the input size ([2, 3])"),
                       Error);
  CHECK_THROWS_WITH_AS(F::smooth_l1_loss(x, x, {.beta = -1}), doctest::Contains("negative values for beta"), Error);
  // Huge logits stay finite.
  const Tensor big = tensor<double>({1000.0, -1000.0});
  const Tensor l = F::binary_cross_entropy_with_logits(big, tensor<double>({0.0, 1.0}), {.reduction = "none"});
  CHECK(testing::values(l) == std::vector<double>{1000.0, 1000.0});
  // float32 in, float32 out.
  CHECK(F::mse_loss(ones({2}), zeros({2})).dtype() == kFloat32);
  // Loss modules keep weights as buffers (state_dict keys as PyTorch).
  nn::BCEWithLogitsLoss wl({.weight = ones({2}), .pos_weight = ones({2})});
  CHECK(wl.state_dict().keys() == std::vector<std::string>{"weight", "pos_weight"});
  CHECK(nn::CrossEntropyLoss().state_dict().empty());
  CHECK(nn::CrossEntropyLoss().repr() == "CrossEntropyLoss()");
}
