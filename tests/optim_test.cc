// Optimizers against PyTorch 1.13: parameter trajectories and state_dict layouts printed by
// tools/gen_optim_golden.py (tests/golden/optim_golden.inc), through both the fused loop and
// the tensor-op path; then zero_grad, param groups, closures, and state_dict round trips and
// their error messages.
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

struct OptimGolden {
  const char* name;
  const char* kind;          // "SGD", "Adam", ...
  Value defaults;            // the Python kwargs, as a group dict
  Value group1;              // None: one group [p0, p1, p2]; else [p0] and [p1, p2] with these options
  std::vector<double> trajectory;  // after each step, p0 (12), p1 (4), p2 (2)
  const char* structure;     // of state_dict() after step 2
};

const std::vector<OptimGolden>& goldens() {
  static const std::vector<OptimGolden> g = {
#include "tests/golden/optim_golden.inc"
  };
  return g;
}

constexpr int kSteps = 20;
constexpr int64_t kValuesPerStep = 18;

// The generator's parameters: p0 [3, 4], p1 [4], p2 [2] (p2 never gets a gradient).
std::vector<Tensor> make_params(DType dtype = kFloat64) {
  std::vector<double> v0;
  for (int i = 0; i < 12; ++i) v0.push_back(-1.5 + 0.27 * i);
  return {from_vector(v0, Shape{3, 4}).to(dtype).requires_grad_(),
          from_vector(std::vector<double>{0.5, -0.25, 1.0, 2.0}).to(dtype).requires_grad_(),
          from_vector(std::vector<double>{0.3, -0.7}).to(dtype).requires_grad_()};
}

// grad = sin(p + 0.7 k) + 0.1 k for p0 and p1 at step k, computed in double from memory.
void set_grads(std::vector<Tensor>& ps, int k) {
  for (size_t i = 0; i < 2; ++i) {
    std::vector<double> g;
    for (double x : values(ps[i])) g.push_back(std::sin(x + 0.7 * k) + 0.1 * k);
    ps[i].mutable_grad() = from_vector(g, ps[i].sizes().vec()).to(ps[i].dtype());
  }
}

std::vector<double> all_values(const std::vector<Tensor>& ps) {
  std::vector<double> out;
  for (const auto& p : ps)
    for (double x : values(p)) out.push_back(x);
  return out;
}

std::vector<optim::ParamGroup> groups_for(const std::vector<Tensor>& ps, const Value& group1) {
  if (group1.is_none()) return {{.params = ps}};
  return {{.params = {ps[0]}}, {.params = {ps[1], ps[2]}, .options = group1}};
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& kind, std::vector<optim::ParamGroup> groups,
                                                 const Value& defaults) {
  if (kind == "SGD") return std::make_unique<optim::SGD>(std::move(groups), optim::SGDOptions::from_value(defaults));
  if (kind == "Adam") return std::make_unique<optim::Adam>(std::move(groups), optim::AdamOptions::from_value(defaults));
  if (kind == "AdamW")
    return std::make_unique<optim::AdamW>(std::move(groups), optim::AdamWOptions::from_value(defaults));
  if (kind == "RMSprop")
    return std::make_unique<optim::RMSprop>(std::move(groups), optim::RMSpropOptions::from_value(defaults));
  if (kind == "Adagrad")
    return std::make_unique<optim::Adagrad>(std::move(groups), optim::AdagradOptions::from_value(defaults));
  FAIL("unknown optimizer " << kind);
  return nullptr;
}

// The golden's defaults with "foreach" set (nullopt: the fused loop; false: tensor ops).
Value with_foreach(const Value& defaults, std::optional<bool> foreach) {
  Value d = defaults;
  d.set("foreach", foreach ? Value(*foreach) : Value());
  return d;
}

// The generator's structure(): floats print as `float`, tensors as Tensor(dtype, [sizes]).
std::string structure(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Tensor:
      return "Tensor(" + std::string(dtype_name(v.as_tensor().dtype())) + ", " + shape_str(v.as_tensor().sizes()) + ")";
    case Value::Kind::Double: return "float";
    case Value::Kind::Dict: {
      std::string out;
      for (const auto& [k, x] : v.items()) out += (out.empty() ? "" : ", ") + k.repr() + ": " + structure(x);
      return "{" + out + "}";
    }
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      std::string out;
      for (const Value& x : v.elements()) out += (out.empty() ? "" : ", ") + structure(x);
      if (v.is_tuple()) return "(" + out + (v.size() == 1 ? ",)" : ")");
      return "[" + out + "]";
    }
    default: return v.repr();
  }
}

}  // namespace

TEST_CASE("optimizers follow PyTorch's trajectories (fused loop and tensor ops)") {
  REQUIRE(goldens().size() >= 18);
  for (const OptimGolden& g : goldens()) {
    REQUIRE(g.trajectory.size() == static_cast<size_t>(kSteps * kValuesPerStep));
    for (const std::optional<bool> foreach : {std::optional<bool>(), std::optional<bool>(false)}) {
      const std::string what = std::string(g.name) + (foreach ? " (tensor ops)" : " (fused)");
      INFO(what);
      std::vector<Tensor> ps = make_params();
      auto opt = make_optimizer(g.kind, groups_for(ps, g.group1), with_foreach(g.defaults, foreach));
      for (int k = 1; k <= kSteps; ++k) {
        set_grads(ps, k);
        opt->step();
        const std::vector<double> expected(g.trajectory.begin() + (k - 1) * kValuesPerStep,
                                           g.trajectory.begin() + k * kValuesPerStep);
        expect_values(cat({ps[0].detach().reshape({-1}), ps[1].detach(), ps[2].detach()}), {kValuesPerStep}, expected,
                      1e-12, what + " step " + std::to_string(k));
        if (k == 2 && !foreach) CHECK_MESSAGE(structure(opt->state_dict()) == g.structure, what);
      }
    }
  }
}

TEST_CASE("float32: the fused loop and tensor ops agree, and stay near the float64 trajectory") {
  for (const OptimGolden& g : goldens()) {
    INFO(g.name);
    std::vector<Tensor> fused = make_params(kFloat32), plain = make_params(kFloat32);
    auto a = make_optimizer(g.kind, groups_for(fused, g.group1), with_foreach(g.defaults, std::nullopt));
    auto b = make_optimizer(g.kind, groups_for(plain, g.group1), with_foreach(g.defaults, false));
    for (int k = 1; k <= kSteps; ++k) {
      set_grads(fused, k);
      set_grads(plain, k);
      a->step();
      b->step();
    }
    expect_values(cat({plain[0].detach().reshape({-1}), plain[1].detach(), plain[2].detach()}), {kValuesPerStep},
                  all_values(fused), 1e-5, std::string(g.name) + " float32 fused vs tensor ops");
    const std::vector<double> last(g.trajectory.end() - kValuesPerStep, g.trajectory.end());
    expect_values(cat({fused[0].detach().reshape({-1}), fused[1].detach(), fused[2].detach()}).to(kFloat64),
                  {kValuesPerStep}, last, 1e-3, std::string(g.name) + " float32 vs float64 golden");
    CHECK(fused[0].dtype() == kFloat32);
  }
}

TEST_CASE("large parameters: the vectorised, multi-threaded fused loop matches tensor ops") {
  // 70001 elements: several parallel chunks, and a vector remainder.
  std::mt19937 rng(7);
  const Tensor init = random_tensor({70001}, kFloat64, rng, Layout::Contiguous, -2, 2);
  for (const OptimGolden& g : goldens()) {
    INFO(g.name);
    Tensor a = init.clone().requires_grad_(), b = init.clone().requires_grad_();
    auto fused = make_optimizer(g.kind, {{.params = {a}}}, with_foreach(g.defaults, std::nullopt));
    auto plain = make_optimizer(g.kind, {{.params = {b}}}, with_foreach(g.defaults, false));
    for (int k = 1; k <= 3; ++k) {
      const Tensor grad = init.mul(0.5 * k).sin().add(0.1 * k);
      a.mutable_grad() = grad.clone();
      b.mutable_grad() = grad.clone();
      fused->step();
      plain->step();
    }
    expect_values(a, {70001}, values(b), 1e-13, g.name);
  }
}

TEST_CASE("non-contiguous parameters take the tensor-op path and match") {
  // A transposed view as the parameter: the same values as a contiguous copy.
  for (const std::string kind : {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}) {
    INFO(kind);
    Tensor base = from_vector(std::vector<double>{0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, Shape{2, 3});
    Tensor strided = base.t().requires_grad_();  // [3, 2], not contiguous
    Tensor dense = base.t().contiguous().requires_grad_();
    REQUIRE_FALSE(strided.is_contiguous());
    const Value opts = Value::dict({{"lr", 0.05}, {"momentum", 0.9}, {"weight_decay", 0.01}});
    auto a = make_optimizer(kind, {{.params = {strided}}}, opts);
    auto b = make_optimizer(kind, {{.params = {dense}}}, opts);
    for (int k = 1; k <= 5; ++k) {
      Tensor g = dense.detach().mul(1.5).sin().add(0.1 * k);
      strided.mutable_grad() = g.clone();
      dense.mutable_grad() = g.clone();
      a->step();
      b->step();
    }
    expect_values(strided, {3, 2}, values(dense), 1e-14, kind);
  }
}

TEST_CASE("parameters without a gradient are skipped and get no state") {
  std::vector<Tensor> ps = make_params();
  optim::Adam opt(ps, {.lr = 0.1});
  const std::vector<double> before = values(ps[2]);
  set_grads(ps, 1);
  opt.step();
  CHECK(values(ps[2]) == before);
  const Value sd = opt.state_dict();
  CHECK(sd.at("state").size() == 2);
  CHECK_FALSE(sd.at("state").contains(2));
  CHECK(sd.at("state").at(0).at("step").as_tensor().item<double>() == 1.0);
}

TEST_CASE("zero_grad") {
  std::vector<Tensor> ps = make_params();
  optim::SGD opt(ps, {.lr = 0.1});
  set_grads(ps, 1);
  // set_to_none = false zeroes the same tensor in place.
  const Tensor g0 = ps[0].grad();
  opt.zero_grad(false);
  REQUIRE(ps[0].grad().defined());
  CHECK(ps[0].grad().is_same(g0));
  CHECK(values(ps[0].grad()) == std::vector<double>(12, 0.0));
  CHECK_FALSE(ps[2].grad().defined());  // an absent gradient stays absent
  // The default drops the gradients.
  opt.zero_grad();
  CHECK_FALSE(ps[0].grad().defined());
  CHECK_FALSE(ps[1].grad().defined());
  // A gradient with history (create_graph) is detached, then zeroed.
  Tensor w = ps[1];
  w.mul(w).sum().backward(Tensor(), false, /*create_graph=*/true);
  REQUIRE(w.grad().requires_grad());
  opt.zero_grad(false);
  CHECK_FALSE(w.grad().requires_grad());
  CHECK(values(w.grad()) == std::vector<double>(4, 0.0));
  // A step after zero_grad() (no gradients) changes nothing.
  opt.zero_grad();
  const std::vector<double> before = all_values(ps);
  opt.step();
  CHECK(all_values(ps) == before);
}

TEST_CASE("param groups: per-group options, defaults, get_lr/set_lr, errors") {
  std::vector<Tensor> ps = make_params();
  optim::SGD opt(std::vector<optim::ParamGroup>{{.params = {ps[0]}},
                                                {.params = {ps[1]}, .options = Value::dict({{"momentum", 0.5}, {"lr", 0.01}})}},
                 {.lr = 0.1, .momentum = 0.9});
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(opt.get_lr(0) == 0.1);
  CHECK(opt.get_lr(1) == 0.01);
  // Given keys first, then the defaults' (PyTorch's setdefault order).
  const auto& o1 = opt.param_groups()[1].options;
  CHECK(o1.items()[0].first.as_string() == "momentum");
  CHECK(o1.items()[1].first.as_string() == "lr");
  CHECK(o1.at("dampening").as_double() == 0.0);
  CHECK(o1.at("momentum").as_double() == 0.5);
  CHECK(opt.defaults().at("momentum").as_double() == 0.9);
  opt.set_lr(1, 0.02);
  CHECK(opt.get_lr(1) == 0.02);
  opt.set_lr(0.3);
  CHECK(opt.get_lr(0) == 0.3);
  CHECK(opt.get_lr(1) == 0.3);
  CHECK(contains(error_message([&] { (void)opt.get_lr(2); }), "SGD: param group 2 does not exist (2 groups)"));

  // add_param_group: a third parameter with its own lr.
  opt.add_param_group({.params = {ps[2]}, .options = Value::dict({{"lr", 0.5}})});
  CHECK(opt.get_lr(2) == 0.5);
  CHECK(opt.param_groups()[2].options.at("momentum").as_double() == 0.9);
  CHECK(contains(error_message([&] { opt.add_param_group({.params = {ps[0]}}); }),
                 "SGD: some parameters appear in more than one parameter group"));
  Tensor non_leaf = ps[0].mul(2);
  CHECK(contains(error_message([&] { opt.add_param_group({.params = {non_leaf}}); }),
                 "can't optimize a non-leaf Tensor"));
  CHECK(contains(error_message([&] { opt.add_param_group({.params = {Tensor()}}); }), "undefined tensor"));
  Tensor extra = zeros({2}).requires_grad_();
  CHECK(contains(error_message([&] { opt.add_param_group({.params = {extra}, .options = Value::dict({{"lr", -1}})}); }),
                 "SGD: invalid learning rate -1 in param group 3"));
  CHECK(contains(error_message([&] { opt.add_param_group({.params = {extra}, .options = Value::dict({{"lr", "x"}})}); }),
                 "SGD: option 'lr' must be a number, got str 'x'"));
  CHECK(opt.param_groups().size() == 3);  // failed adds changed nothing
}

TEST_CASE("options are checked like PyTorch's") {
  std::vector<Tensor> ps = make_params();
  CHECK(contains(error_message([&] { optim::SGD(ps, {.lr = 0.1, .nesterov = true}); }),
                 "SGD: Nesterov momentum requires a momentum and zero dampening"));
  CHECK(contains(error_message([&] { optim::SGD(ps, {.lr = -0.1}); }), "invalid learning rate -0.1 in the defaults"));
  CHECK(contains(error_message([&] { optim::Adam(ps, {.betas = {1.0, 0.999}}); }),
                 "Adam: invalid beta parameter at index 0: 1"));
  CHECK(contains(error_message([&] { optim::AdamW(ps, {.eps = -1}); }), "AdamW: invalid epsilon value -1"));
  CHECK(contains(error_message([&] { optim::RMSprop(ps, {.alpha = -0.5}); }), "RMSprop: invalid alpha value -0.5"));
  CHECK(contains(error_message([&] { optim::Adagrad(ps, {.lr_decay = -1}); }), "Adagrad: invalid lr_decay value -1"));
  CHECK(contains(error_message([&] { optim::Adam(std::vector<Tensor>{}); }),
                 "Adam: optimizer got an empty parameter list"));
}

TEST_CASE("step(closure) evaluates the loss with grad mode on") {
  Tensor w = from_vector(std::vector<double>{1.0, -2.0}).requires_grad_();
  optim::SGD opt({w}, {.lr = 0.1});
  NoGradGuard no_grad;  // the closure turns grad mode back on, as PyTorch's enable_grad
  int calls = 0;
  Tensor loss = opt.step([&] {
    ++calls;
    opt.zero_grad();
    Tensor l = w.mul(w).sum();
    l.backward();
    return l;
  });
  CHECK(calls == 1);
  CHECK(loss.item<double>() == 5.0);
  CHECK(values(w) == std::vector<double>({0.8, -1.6}));  // w - 0.1 * 2w
  CHECK_FALSE(is_grad_enabled());  // the caller's NoGradGuard is back
}

TEST_CASE("optimizers minimise a loss through autograd, and bump versions") {
  const std::vector<std::pair<std::string, double>> lrs = {
      {"SGD", 0.1}, {"Adam", 0.1}, {"AdamW", 0.1}, {"RMSprop", 0.01}, {"Adagrad", 0.5}};
  for (const auto& [kind, lr] : lrs) {
    INFO(kind);
    Tensor w = from_vector(std::vector<float>{2.0f, -3.0f, 1.5f}).requires_grad_();
    const Tensor target = from_vector(std::vector<float>{0.5f, 0.5f, 0.5f});
    auto opt = make_optimizer(kind, {{.params = {w}}}, Value::dict({{"lr", lr}, {"momentum", 0.5}}));
    auto loss_fn = [&] { return w.sub(target).square().sum(); };
    const double first = loss_fn().item<double>();
    const uint64_t version = w.version();
    for (int i = 0; i < 50; ++i) {
      opt->zero_grad();
      loss_fn().backward();
      opt->step();
    }
    CHECK(w.version() > version);
    CHECK(loss_fn().item<double>() < first * 0.5);
    CHECK(w.is_leaf());
    CHECK(w.requires_grad());
  }
}

TEST_CASE("Adagrad has state for every parameter from construction") {
  std::vector<Tensor> ps = make_params();
  optim::Adagrad opt(ps, {.initial_accumulator_value = 0.25});
  const Value sd = opt.state_dict();
  REQUIRE(sd.at("state").size() == 3);
  CHECK(sd.at("state").at(2).at("step").as_tensor().item<double>() == 0.0);
  CHECK(values(sd.at("state").at(2).at("sum").as_tensor()) == std::vector<double>({0.25, 0.25}));
}

TEST_CASE("state_dict round trip: 10 steps, save, load into a fresh optimizer, 10 more == 20 steps, bit for bit") {
  for (const OptimGolden& g : goldens()) {
    for (const std::optional<bool> foreach : {std::optional<bool>(), std::optional<bool>(false)}) {
      const std::string what = std::string(g.name) + (foreach ? " (tensor ops)" : " (fused)");
      INFO(what);
      const Value defaults = with_foreach(g.defaults, foreach);
      std::vector<Tensor> whole = make_params();
      auto uninterrupted = make_optimizer(g.kind, groups_for(whole, g.group1), defaults);
      std::vector<Tensor> first = make_params();
      auto saved = make_optimizer(g.kind, groups_for(first, g.group1), defaults);
      for (int k = 1; k <= 10; ++k) {
        set_grads(whole, k);
        uninterrupted->step();
        set_grads(first, k);
        saved->step();
      }
      const Value sd = saved->state_dict();
      // A fresh optimizer over copies of the parameters, with other hyper-parameters: the
      // state dict brings the saved ones back.
      std::vector<Tensor> resumed;
      for (const Tensor& p : first) resumed.push_back(p.detach().clone().requires_grad_());
      auto loaded = make_optimizer(g.kind, groups_for(resumed, g.group1), Value::dict({{"lr", 0.123}}));
      loaded->load_state_dict(sd);
      CHECK(structure(loaded->state_dict()) == structure(sd));
      CHECK(loaded->state_dict().at("param_groups") == sd.at("param_groups"));
      for (int k = 11; k <= kSteps; ++k) {
        set_grads(whole, k);
        uninterrupted->step();
        // The original keeps stepping too: its state tensors (shared with `sd`) change in
        // place, which must not reach the loaded copy.
        set_grads(first, k);
        saved->step();
        set_grads(resumed, k);
        loaded->step();
      }
      CHECK(all_values(resumed) == all_values(whole));
      CHECK(all_values(first) == all_values(whole));
    }
  }
}

TEST_CASE("load_state_dict casts state to the parameter's dtype; step keeps its own") {
  std::vector<Tensor> ps = make_params();
  optim::Adam opt(ps, {.lr = 0.01});
  set_grads(ps, 1);
  opt.step();
  std::vector<Tensor> ps32 = make_params(kFloat32);
  optim::Adam opt32(ps32);
  opt32.load_state_dict(opt.state_dict());
  const Value sd = opt32.state_dict();
  CHECK(sd.at("state").at(0).at("exp_avg").as_tensor().dtype() == kFloat32);
  CHECK(sd.at("state").at(0).at("step").as_tensor().dtype() == kFloat32);
  CHECK(opt32.get_lr() == 0.01);
  set_grads(ps32, 2);
  opt32.step();  // the fused float32 loop over loaded state
  CHECK(opt32.state_dict().at("state").at(1).at("step").as_tensor().item<double>() == 2.0);
}

TEST_CASE("load_state_dict: mismatched state dicts are refused, changing nothing") {
  std::vector<Tensor> ps = make_params();
  optim::Adam adam(std::vector<optim::ParamGroup>{{.params = {ps[0], ps[1]}}, {.params = {ps[2]}}}, {.lr = 0.01});
  set_grads(ps, 1);
  adam.step();
  const Value good = adam.state_dict();

  auto load_error = [&](const Value& sd) { return error_message([&] { adam.load_state_dict(sd); }); };
  // Group count.
  Value one_group = good;
  one_group.at("param_groups").as_list().pop_back();
  CHECK(contains(load_error(one_group), "Adam::load_state_dict: loaded state dict has a different number of parameter "
                                        "groups: 1 in the state dict, 2 in this optimizer"));
  // Group size.
  Value short_group = good;
  short_group.at("param_groups")[0].at("params").as_list().pop_back();
  CHECK(contains(load_error(short_group), "loaded state dict contains a parameter group that doesn't match the size "
                                          "of optimizer's group: group 0 has 1 parameters in the state dict and 2 here"));
  // Another optimizer's state dict.
  std::vector<Tensor> qs = make_params();
  optim::SGD sgd(std::vector<optim::ParamGroup>{{.params = {qs[0], qs[1]}}, {.params = {qs[2]}}}, {.momentum = 0.9});
  set_grads(qs, 1);
  sgd.step();
  CHECK(contains(load_error(sgd.state_dict()), "Adam::load_state_dict: param group 0 has no 'betas' (it has ['lr', "
                                               "'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize', "
                                               "'foreach', 'differentiable', 'params']); hint: was the state dict saved "
                                               "from another kind of optimizer?"));
  Value sgd_state = good;
  sgd_state.set("state", sgd.state_dict().at("state"));
  CHECK(contains(load_error(sgd_state), "the state of parameter 0 has no 'step' (it has ['momentum_buffer'])"));
  // A state tensor of the wrong shape (parameters in another order).
  Value swapped = good;
  Value s0 = swapped.at("state").at(0);
  swapped.at("state").set(0, swapped.at("state").at(1));
  swapped.at("state").set(1, s0);
  CHECK(contains(load_error(swapped), "state 'exp_avg' of parameter 0 has shape [4] but the parameter has shape [3, 4]"));
  // State for a parameter no group lists.
  Value stray = good;
  stray.at("state").set(7, good.at("state").at(0));
  CHECK(contains(load_error(stray), "the state dict has state for parameter 7, which none of its param groups lists"));
  // Malformed layouts and options.
  CHECK(contains(load_error(Value::dict({{"state", Value::dict()}})),
                 "expected a dict with 'state' and 'param_groups', got a dict with keys ['state']"));
  CHECK(contains(load_error(Value::list()), "got a list"));
  Value bad_lr = good;
  bad_lr.at("param_groups")[1].set("lr", -2.0);
  CHECK(contains(load_error(bad_lr), "Adam: invalid learning rate -2 in param group 1 of the state dict"));
  Value bad_betas = good;
  bad_betas.at("param_groups")[0].set("betas", 0.9);
  CHECK(contains(load_error(bad_betas), "Adam: option 'betas' must be a tuple of two numbers, got float 0.9"));

  // None of this changed the optimizer: it still equals a copy that never saw the bad loads.
  std::vector<Tensor> rs = make_params();
  optim::Adam twin(std::vector<optim::ParamGroup>{{.params = {rs[0], rs[1]}}, {.params = {rs[2]}}}, {.lr = 0.01});
  set_grads(rs, 1);
  twin.step();
  for (int k = 2; k <= 4; ++k) {
    set_grads(ps, k);
    adam.step();
    set_grads(rs, k);
    twin.step();
  }
  CHECK(all_values(ps) == all_values(rs));
  CHECK(adam.get_lr(1) == 0.01);
}

TEST_CASE("load_state_dict accepts PyTorch's older and hand-written layouts") {
  // RMSprop's int step, Adam's number step (before PyTorch 1.12), missing optional keys.
  std::vector<Tensor> ps = make_params();
  optim::Adam adam({ps[1]}, {.lr = 0.01});
  const Value sd = Value::dict(
      {{"state", Value::dict({{0, Value::dict({{"step", 3},
                                              {"exp_avg", zeros({4}, {.dtype = kFloat64})},
                                              {"exp_avg_sq", ones({4}, {.dtype = kFloat64})}})}})},
       {"param_groups", Value::list({Value::dict({{"lr", 0.5}, {"betas", Value::list({0.8, 0.9})}, {"eps", 1e-8},
                                                  {"weight_decay", 0}, {"params", Value::list({0})}})})}});
  adam.load_state_dict(sd);
  CHECK(adam.get_lr() == 0.5);
  const Value group = adam.state_dict().at("param_groups")[0];
  CHECK(group.at("amsgrad").as_bool() == false);  // filled from the defaults
  CHECK(adam.state_dict().at("state").at(0).at("step").as_tensor().item<double>() == 3.0);
  ps[1].mutable_grad() = ones({4}, {.dtype = kFloat64});
  adam.step();
  CHECK(adam.state_dict().at("state").at(0).at("step").as_tensor().item<double>() == 4.0);
}
