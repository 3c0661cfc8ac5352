// Batch and group normalisation (nn/functional/normalization.h, nn/batchnorm.h,
// nn/groupnorm.h): values, gradients and running statistics against PyTorch 1.13
// (golden/nn_conv_golden.inc, float64, 1e-10), gradchecks, module state, reprs, errors.
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

void check_grads(const GCase& c, const Tensor& out, const std::map<std::string, Tensor>& leaves) {
  nn_golden::expect_golden(out, c, "out");
  out.mul(nn_golden::tensor(c, "grad_out")).sum().backward();
  for (const auto& [name, t] : leaves) {
    if (t.defined() && nn_golden::has_tensor(c, "grad." + name)) nn_golden::expect_golden(t.grad(), c, "grad." + name);
  }
}

}  // namespace

TEST_CASE("golden: F::batch_norm (train / eval, running stats, affine or not) matches PyTorch 1.13") {
  const auto cases = nn_golden::cases_of_kind("batch_norm");
  REQUIRE(cases.size() >= 6);
  for (const GCase* cp : cases) {
    const GCase& c = *cp;
    INFO(c.name);
    std::map<std::string, Tensor> leaves;
    for (const char* n : {"input", "weight", "bias"}) {
      Tensor t = nn_golden::tensor(c, n);
      if (t.defined()) t.requires_grad_();
      leaves[n] = t;
    }
    Tensor rm = nn_golden::tensor(c, "running_mean");
    Tensor rv = nn_golden::tensor(c, "running_var");
    const bool training = nn_golden::int1(c, "training") != 0;
    const Tensor out = F::batch_norm(leaves["input"], rm, rv, leaves["weight"], leaves["bias"], training,
                                     nn_golden::real(c, "momentum"), nn_golden::real(c, "eps"));
    check_grads(c, out, leaves);
    if (nn_golden::has_tensor(c, "running_mean_after")) {
      nn_golden::expect_golden(rm, c, "running_mean_after");
      nn_golden::expect_golden(rv, c, "running_var_after");
    } else if (rm.defined()) {
      nn_golden::expect_golden(rm, c, "running_mean");  // eval leaves them alone
      nn_golden::expect_golden(rv, c, "running_var");
    }
    CHECK((!rm.defined() || !rm.requires_grad()));
  }
}

TEST_CASE("golden: F::group_norm matches PyTorch 1.13") {
  const auto cases = nn_golden::cases_of_kind("group_norm");
  REQUIRE(cases.size() >= 5);
  for (const GCase* cp : cases) {
    const GCase& c = *cp;
    INFO(c.name);
    std::map<std::string, Tensor> leaves;
    for (const char* n : {"input", "weight", "bias"}) {
      Tensor t = nn_golden::tensor(c, n);
      if (t.defined()) t.requires_grad_();
      leaves[n] = t;
    }
    const Tensor out = F::group_norm(leaves["input"], nn_golden::int1(c, "num_groups"), leaves["weight"],
                                     leaves["bias"], nn_golden::real(c, "eps"));
    check_grads(c, out, leaves);
  }
}

TEST_CASE("golden: BatchNorm modules over two training steps and eval (momentum, cumulative, untracked)") {
  const auto cases = nn_golden::cases_of_kind("batchnorm_module");
  REQUIRE(cases.size() == 3);
  for (const GCase* cp : cases) {
    const GCase& c = *cp;
    INFO(c.name);
    const Tensor x1 = nn_golden::tensor(c, "x1");
    nn::BatchNormOptions o;
    o.momentum = nn_golden::int1(c, "momentum_none") ? std::nullopt : std::optional<double>(nn_golden::real(c, "momentum"));
    o.affine = nn_golden::int1(c, "affine") != 0;
    o.track_running_stats = nn_golden::int1(c, "track_running_stats") != 0;
    o.dtype = kFloat64;
    const int64_t C = x1.size(1);
    std::shared_ptr<nn::BatchNormNd> m;
    if (x1.dim() == 4) m = std::make_shared<nn::BatchNorm2d>(C, o);
    else m = std::make_shared<nn::BatchNorm1d>(C, o);
    if (o.affine) {
      NoGradGuard g;
      m->weight.copy_(nn_golden::tensor(c, "weight"));
      m->bias.copy_(nn_golden::tensor(c, "bias"));
    }
    m->train();
    nn_golden::expect_golden((*m)(x1), c, "out1");
    nn_golden::expect_golden((*m)(nn_golden::tensor(c, "x2")), c, "out2");
    m->eval();
    nn_golden::expect_golden((*m)(nn_golden::tensor(c, "x3")), c, "out3");
    const auto sd = m->state_dict();
    std::string keys;
    for (const auto& [k, t] : sd) {
      keys += (keys.empty() ? "" : ",") + k;
      nn_golden::expect_golden(t, c, "state." + k);
    }
    CHECK(keys == nn_golden::str(c, "state_keys"));
    if (o.track_running_stats) CHECK(m->num_batches_tracked.dtype() == kInt64);
  }
}

TEST_CASE("gradcheck (float64): batch_norm in training and eval mode, group_norm, second order") {
  std::mt19937 rng(1);
  const autograd::GradcheckOptions second{.check_second_order = true};
  {
    auto f = [](const std::vector<Tensor>& v) {
      return F::batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], /*training=*/true, 0.1, 1e-3);
    };
    CHECK(autograd::gradcheck(f, {rnd({4, 3, 2}, rng).requires_grad_(), rnd({3}, rng, 0.5, 1.5).requires_grad_(),
                                  rnd({3}, rng).requires_grad_()}, second));
  }
  {
    // Running buffers are updated in place on every evaluation and never take part in autograd.
    Tensor rm = zeros({2}, {.dtype = kFloat64}), rv = ones({2}, {.dtype = kFloat64});
    auto f = [&](const std::vector<Tensor>& v) { return F::batch_norm(v[0], rm, rv, Tensor(), Tensor(), true); };
    CHECK(autograd::gradcheck(f, {rnd({3, 2, 2, 2}, rng).requires_grad_()}));
  }
  {
    const Tensor rm = rnd({3}, rng), rv = rnd({3}, rng, 0.5, 2.0);
    auto f = [&](const std::vector<Tensor>& v) { return F::batch_norm(v[0], rm, rv, v[1], v[2], false); };
    CHECK(autograd::gradcheck(f, {rnd({2, 3, 4}, rng).requires_grad_(), rnd({3}, rng).requires_grad_(),
                                  rnd({3}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::group_norm(v[0], 2, v[1], v[2], 1e-3); };
    CHECK(autograd::gradcheck(f, {rnd({2, 4, 3}, rng).requires_grad_(), rnd({4}, rng, 0.5, 1.5).requires_grad_(),
                                  rnd({4}, rng).requires_grad_()}, second));
  }
  {
    auto f = [](const std::vector<Tensor>& v) { return F::group_norm(v[0], 3); };
    CHECK(autograd::gradcheck(f, {rnd({2, 6, 2, 2}, rng).requires_grad_()}));
  }
}

TEST_CASE("BatchNorm modules: parameters, buffers, modes, dtype, state_dict round trip") {
  nn::BatchNorm2d bn(4);
  std::vector<std::string> params, buffers;
  for (const auto& [n, t] : bn.named_parameters()) params.push_back(n);
  for (const auto& [n, t] : bn.named_buffers()) buffers.push_back(n);
  CHECK(params == std::vector<std::string>{"weight", "bias"});
  CHECK(buffers == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  CHECK(bn.weight.to_vector<double>() == std::vector<double>(4, 1.0));
  CHECK(bn.bias.to_vector<double>() == std::vector<double>(4, 0.0));
  CHECK(bn.running_var.to_vector<double>() == std::vector<double>(4, 1.0));
  CHECK(bn.num_batches_tracked.dim() == 0);
  CHECK(bn.num_batches_tracked.item<int64_t>() == 0);
  std::mt19937 rng(2);
  const Tensor x = random_tensor({3, 4, 2, 2}, kFloat32, rng);
  bn(x);
  bn(x);
  CHECK(bn.num_batches_tracked.item<int64_t>() == 2);
  // eval: the running statistics, nothing updated.
  bn.eval();
  const Tensor rm_before = bn.running_mean.clone();
  const Tensor y = bn(x);
  CHECK(equal(bn.running_mean, rm_before));
  CHECK(bn.num_batches_tracked.item<int64_t>() == 2);
  const Tensor expect = x.sub(bn.running_mean.view({1, 4, 1, 1})).div(bn.running_var.add(1e-5).sqrt().view({1, 4, 1, 1}));
  CHECK(allclose(y, expect, 1e-5, 1e-6));
  // state_dict round trip into a fresh module.
  nn::BatchNorm2d other(4);
  other.load_state_dict(bn.state_dict());
  CHECK(equal(other.running_mean, bn.running_mean));
  CHECK(other.num_batches_tracked.item<int64_t>() == 2);
  // to(kFloat64) converts the float buffers, not num_batches_tracked.
  bn.to(kFloat64);
  CHECK(bn.running_mean.dtype() == kFloat64);
  CHECK(bn.num_batches_tracked.dtype() == kInt64);
  // Untracked: no buffers; eval still uses the batch statistics.
  nn::BatchNorm1d free(3, {.affine = false, .track_running_stats = false});
  CHECK(free.named_parameters().empty());
  CHECK(free.named_buffers().empty());
  free.eval();
  const Tensor z = random_tensor({5, 3}, kFloat32, rng);
  CHECK(allclose(free(z).mean({0}), zeros({3}), 1e-5, 1e-5));
  // Gradients reach weight and bias through a module.
  nn::BatchNorm1d bn1(3);
  bn1(random_tensor({4, 3, 2}, kFloat32, rng)).square().sum().backward();
  CHECK(bn1.weight.grad().defined());
  CHECK(bn1.bias.grad().defined());
}

TEST_CASE("GroupNorm module and reprs, parameter and buffer names (golden)") {
  nn::GroupNorm gn(2, 6);
  CHECK(gn.weight.sizes() == IntArrayRef({6}));
  std::mt19937 rng(3);
  const Tensor x = random_tensor({2, 6, 3}, kFloat32, rng);
  CHECK(equal(gn(x), F::group_norm(x, 2, gn.weight, gn.bias)));
  std::map<std::string, std::shared_ptr<nn::Module>> modules = {
      {"batchnorm2d", std::make_shared<nn::BatchNorm2d>(64)},
      {"batchnorm1d", std::make_shared<nn::BatchNorm1d>(
                          32, nn::BatchNormOptions{.eps = 1e-3, .momentum = std::nullopt, .affine = false})},
      {"groupnorm", std::make_shared<nn::GroupNorm>(4, 32)},
      {"groupnorm_noaffine", std::make_shared<nn::GroupNorm>(2, 6, nn::GroupNormOptions{.eps = 1e-3, .affine = false})},
  };
  for (auto& [name, m] : modules) {
    INFO(name);
    const GCase& c = nn_golden::find_case("repr_" + name);
    CHECK(m->repr() == nn_golden::str(c, "repr"));
    std::string params, buffers;
    for (const auto& [n, t] : m->named_parameters()) params += (params.empty() ? "" : ",") + n;
    for (const auto& [n, t] : m->named_buffers()) buffers += (buffers.empty() ? "" : ",") + n;
    CHECK(params == nn_golden::str(c, "param_names"));
    CHECK(buffers == nn_golden::str(c, "buffer_names"));
  }
}

TEST_CASE("normalisation errors, as PyTorch") {
  CHECK(contains(error_message([] { F::batch_norm(zeros({1, 4}), Tensor(), Tensor(), Tensor(), Tensor(), true); }),
                 "Expected more than 1 value per channel when training, got input size [1, 4]"));
  CHECK(contains(error_message([] { F::batch_norm(zeros({2, 4}), Tensor(), Tensor()); }),
                 "running_mean and running_var must be defined in evaluation mode"));
  CHECK(contains(error_message([] { F::batch_norm(zeros({2, 4}), zeros({3}), ones({4})); }),
                 "running_mean should contain 4 elements not 3"));
  CHECK(contains(error_message([] { F::group_norm(zeros({2, 6, 4}), 4); }),
                 "Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 6, 4] "
                 "and num_groups=4"));
  nn::BatchNorm2d bn(3);
  CHECK(contains(error_message([&] { bn(zeros({2, 3, 4})); }), "expected 4D input (got 3D input)"));
  nn::BatchNorm1d bn1(3);
  CHECK(contains(error_message([&] { bn1(zeros({2, 3, 4, 4})); }), "expected 2D or 3D input (got 4D input)"));
  CHECK(contains(error_message([] { nn::GroupNorm(4, 6); }), "num_channels must be divisible by num_groups"));
}
