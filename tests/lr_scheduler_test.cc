// Learning-rate schedulers against PyTorch 1.13: lr (and momentum) sequences and state_dict
// layouts printed by tools/gen_optim_golden.py (tests/golden/scheduler_golden.inc), then
// state_dict round trips, step(epoch), and error messages.
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

struct SchedulerGolden {
  const char* name;
  const char* call;                 // the Python constructor call
  std::vector<double> lrs;          // both groups' lr after construction and after each step
  std::vector<double> momenta;      // the same for the cycled momentum (or empty)
  const char* structure;            // of state_dict() after 5 steps
};

const std::vector<SchedulerGolden>& goldens() {
  static const std::vector<SchedulerGolden> g = {
#include "tests/golden/scheduler_golden.inc"
  };
  return g;
}

const std::vector<double>& plateau_metrics() {
  static const std::vector<double> m = {
#include "tests/golden/scheduler_metrics.inc"
  };
  return m;
}

constexpr int kSteps = 30;

std::vector<Tensor> make_params() {
  return {zeros({3, 4}, {.dtype = kFloat64}).requires_grad_(), zeros({4}, {.dtype = kFloat64}).requires_grad_(),
          zeros({2}, {.dtype = kFloat64}).requires_grad_()};
}

// The generator's optimizers: groups [p0] (lr 0.1) and [p1, p2] (lr 0.05).
std::unique_ptr<optim::Optimizer> make_sgd(const std::vector<Tensor>& ps) {
  return std::make_unique<optim::SGD>(
      std::vector<optim::ParamGroup>{{.params = {ps[0]}, .options = Value::dict({{"lr", 0.1}})},
                                     {.params = {ps[1], ps[2]}, .options = Value::dict({{"lr", 0.05}})}},
      optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
}

std::unique_ptr<optim::Optimizer> make_adam(const std::vector<Tensor>& ps) {
  return std::make_unique<optim::Adam>(
      std::vector<optim::ParamGroup>{{.params = {ps[0]}, .options = Value::dict({{"lr", 0.1}})},
                                     {.params = {ps[1], ps[2]}, .options = Value::dict({{"lr", 0.05}})}},
      optim::AdamOptions{.lr = 0.1, .betas = {0.9, 0.999}});
}

// A scheduler of either kind, stepped the way the generator steps it.
struct Scheduler {
  std::shared_ptr<optim::LRScheduler> lr;
  std::shared_ptr<optim::ReduceLROnPlateau> plateau;
  bool negate_metric = false;

  void step(int k) {
    if (plateau) {
      plateau->step(plateau_metrics()[static_cast<size_t>(k)] * (negate_metric ? -1 : 1));
    } else {
      lr->step();
    }
  }
  const std::vector<double>& get_last_lr() const { return plateau ? plateau->get_last_lr() : lr->get_last_lr(); }
  Value state_dict() const { return plateau ? plateau->state_dict() : lr->state_dict(); }
  void load_state_dict(const Value& sd) { plateau ? plateau->load_state_dict(sd) : lr->load_state_dict(sd); }
};

struct Case {
  bool adam = false;                       // else SGD
  std::function<Scheduler(optim::Optimizer&)> make;
  const char* momentum = nullptr;          // "momentum" or "beta1": what cycles
};

template <typename S, typename O>
Scheduler lr_scheduler(optim::Optimizer& opt, O options) {
  return {.lr = std::make_shared<S>(opt, std::move(options))};
}

// One builder per golden case, the C++ spelling of its Python call.
const std::map<std::string, Case>& cases() {
  using namespace optim;
  static const std::map<std::string, Case> c = {
      {"step", {.make = [](Optimizer& o) { return lr_scheduler<StepLR>(o, StepLROptions{.step_size = 3, .gamma = 0.5}); }}},
      {"multistep", {.make = [](Optimizer& o) {
         return lr_scheduler<MultiStepLR>(o, MultiStepLROptions{.milestones = {2, 5, 5, 9}, .gamma = 0.3});
       }}},
      {"exponential", {.make = [](Optimizer& o) { return lr_scheduler<ExponentialLR>(o, ExponentialLROptions{.gamma = 0.9}); }}},
      {"cosine", {.make = [](Optimizer& o) {
         return lr_scheduler<CosineAnnealingLR>(o, CosineAnnealingLROptions{.T_max = 7, .eta_min = 0.001});
       }}},
      {"warm_restarts_mult2", {.make = [](Optimizer& o) {
         return lr_scheduler<CosineAnnealingWarmRestarts>(
             o, CosineAnnealingWarmRestartsOptions{.T_0 = 4, .T_mult = 2, .eta_min = 0.0005});
       }}},
      {"warm_restarts_mult1", {.make = [](Optimizer& o) {
         return lr_scheduler<CosineAnnealingWarmRestarts>(
             o, CosineAnnealingWarmRestartsOptions{.T_0 = 5, .T_mult = 1, .eta_min = 0.0});
       }}},
      {"linear", {.make = [](Optimizer& o) {
         return lr_scheduler<LinearLR>(o, LinearLROptions{.start_factor = 0.25, .end_factor = 0.9, .total_iters = 6});
       }}},
      {"one_cycle_cos", {.make = [](Optimizer& o) {
                           return lr_scheduler<OneCycleLR>(o, OneCycleLROptions{.max_lr = {1.0, 0.5}, .total_steps = 30});
                         },
                         .momentum = "momentum"}},
      {"one_cycle_linear_three_phase", {.adam = true,
                                        .make = [](Optimizer& o) {
                                          return lr_scheduler<OneCycleLR>(
                                              o, OneCycleLROptions{.max_lr = {0.8},
                                                                   .epochs = 5,
                                                                   .steps_per_epoch = 6,
                                                                   .pct_start = 0.25,
                                                                   .anneal_strategy = AnnealStrategy::Linear,
                                                                   .base_momentum = {0.8},
                                                                   .max_momentum = {0.9},
                                                                   .div_factor = 10.0,
                                                                   .final_div_factor = 100.0,
                                                                   .three_phase = true});
                                        },
                                        .momentum = "beta1"}},
      {"lambda", {.make = [](Optimizer& o) {
         return lr_scheduler<LambdaLR>(
             o, LambdaLROptions{.lr_lambdas = {[](int64_t e) { return std::pow(0.95, static_cast<double>(e)); },
                                               [](int64_t e) { return 1.0 / (1.0 + 0.5 * static_cast<double>(e)); }}});
       }}},
      {"sequential", {.make = [](Optimizer& o) {
         auto warmup = std::make_shared<LinearLR>(o, LinearLROptions{.start_factor = 0.5, .total_iters = 4});
         auto cosine = std::make_shared<CosineAnnealingLR>(o, CosineAnnealingLROptions{.T_max = 10, .eta_min = 0.01});
         auto steps = std::make_shared<StepLR>(o, StepLROptions{.step_size = 2, .gamma = 0.7});
         return lr_scheduler<SequentialLR>(o, SequentialLROptions{.schedulers = {warmup, cosine, steps},
                                                                  .milestones = {4, 14}});
       }}},
      {"plateau_min_rel", {.make = [](Optimizer& o) {
         return Scheduler{.plateau = std::make_shared<ReduceLROnPlateau>(
                              o, ReduceLROnPlateauOptions{.mode = PlateauMode::Min,
                                                          .factor = 0.5,
                                                          .patience = 2,
                                                          .threshold = 0.01,
                                                          .cooldown = 1,
                                                          .min_lr = {0.01, 0.001}})};
       }}},
      {"plateau_max_abs", {.make = [](Optimizer& o) {
         return Scheduler{.plateau = std::make_shared<ReduceLROnPlateau>(
                              o, ReduceLROnPlateauOptions{.mode = PlateauMode::Max,
                                                          .factor = 0.3,
                                                          .patience = 1,
                                                          .threshold = 0.1,
                                                          .threshold_mode = ThresholdMode::Abs,
                                                          .min_lr = {0.02},
                                                          .eps = 0.001}),
                          .negate_metric = true};
       }}},
  };
  return c;
}

std::vector<double> group_lrs(const optim::Optimizer& opt) {
  std::vector<double> out;
  for (const auto& g : opt.param_groups()) out.push_back(g.lr());
  return out;
}

std::vector<double> group_momenta(const optim::Optimizer& opt, const std::string& what) {
  std::vector<double> out;
  for (const auto& g : opt.param_groups())
    out.push_back(what == "momentum" ? g.options.at("momentum").as_double() : g.options.at("betas")[0].as_double());
  return out;
}

// As tests/optim_test.cc: floats print as `float`, tensors as Tensor(dtype, [sizes]).
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

struct Setup {
  std::vector<Tensor> params;
  std::unique_ptr<optim::Optimizer> opt;
  Scheduler sched;
};

Setup build(const std::string& name) {
  const Case& c = cases().at(name);
  Setup s{make_params(), nullptr, {}};
  s.opt = c.adam ? make_adam(s.params) : make_sgd(s.params);
  s.sched = c.make(*s.opt);
  return s;
}

void check_close_seq(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::abs(got[i] - want[i]) <= 1e-13 * (1 + std::abs(want[i])))) {
      FAIL_CHECK(what << ": value " << i << " (step " << (i / 2) << ", group " << (i % 2) << ") expected "
                      << want[i] << ", got " << got[i]);
      return;
    }
  }
}

}  // namespace

TEST_CASE("schedulers: golden cases and builders match one to one") {
  std::set<std::string> names;
  for (const auto& g : goldens()) {
    CHECK_MESSAGE(cases().count(g.name) == 1, "no builder for golden case ", g.name);
    names.insert(g.name);
  }
  for (const auto& [name, c] : cases()) CHECK_MESSAGE(names.count(name) == 1, "no golden for builder ", name);
  CHECK(plateau_metrics().size() == static_cast<size_t>(kSteps));
}

TEST_CASE("schedulers follow PyTorch's lr and momentum sequences and state_dict layouts") {
  for (const SchedulerGolden& g : goldens()) {
    INFO(g.name << ": " << g.call);
    const Case& c = cases().at(g.name);
    Setup s = build(g.name);
    std::vector<double> lrs = group_lrs(*s.opt), momenta;
    if (c.momentum) momenta = group_momenta(*s.opt, c.momentum);
    for (int k = 0; k < kSteps; ++k) {
      s.sched.step(k);
      const std::vector<double> now = group_lrs(*s.opt);
      CHECK(s.sched.get_last_lr() == now);
      lrs.insert(lrs.end(), now.begin(), now.end());
      if (c.momentum) {
        const auto m = group_momenta(*s.opt, c.momentum);
        momenta.insert(momenta.end(), m.begin(), m.end());
      }
      if (k == 4) CHECK(structure(s.sched.state_dict()) == g.structure);
    }
    check_close_seq(lrs, g.lrs, std::string(g.name) + " lr");
    check_close_seq(momenta, g.momenta, std::string(g.name) + " momentum");
  }
}

TEST_CASE("scheduler state_dict round trip: resume from a checkpoint, same lrs bit for bit") {
  for (const SchedulerGolden& g : goldens()) {
    INFO(g.name);
    Setup original = build(g.name);
    for (int k = 0; k < 7; ++k) original.sched.step(k);
    const Value opt_sd = original.opt->state_dict();
    const Value sched_sd = original.sched.state_dict();
    // A fresh optimizer and scheduler (whose construction moves the lrs), then the checkpoint.
    Setup resumed = build(g.name);
    resumed.opt->load_state_dict(opt_sd);
    resumed.sched.load_state_dict(sched_sd);
    CHECK(structure(resumed.sched.state_dict()) == structure(sched_sd));
    CHECK(resumed.opt->state_dict().at("param_groups") == opt_sd.at("param_groups"));
    for (int k = 7; k < kSteps; ++k) {
      original.sched.step(k);
      resumed.sched.step(k);
      CHECK(group_lrs(*resumed.opt) == group_lrs(*original.opt));
      CHECK(resumed.opt->state_dict().at("param_groups") == original.opt->state_dict().at("param_groups"));
    }
  }
}

TEST_CASE("construction is the first step; the optimizer's groups carry initial_lr") {
  std::vector<Tensor> ps = make_params();
  auto opt = make_sgd(ps);
  optim::LinearLR sched(*opt, {.start_factor = 0.5, .total_iters = 2});
  CHECK(sched.last_epoch() == 0);
  CHECK(sched.get_last_lr() == std::vector<double>({0.05, 0.025}));
  CHECK(sched.base_lrs() == std::vector<double>({0.1, 0.05}));
  CHECK(opt->param_groups()[0].options.at("initial_lr").as_double() == 0.1);
  const Value groups = opt->state_dict().at("param_groups");
  CHECK(groups[1].keys().back().as_string() == "params");
  CHECK(groups[1].at("initial_lr").as_double() == 0.05);
  // Resuming (last_epoch >= 0) needs initial_lr in every group.
  std::vector<Tensor> qs = make_params();
  auto fresh = make_sgd(qs);
  CHECK(contains(error_message([&] { optim::StepLR(*fresh, {.step_size = 2, .last_epoch = 4}); }),
                 "StepLR: param 'initial_lr' is not specified in param_groups[0] when resuming an optimizer"));
  optim::StepLR resumed(*opt, {.step_size = 2, .gamma = 0.5, .last_epoch = 4});
  CHECK(resumed.last_epoch() == 5);
}

TEST_CASE("step(epoch): the closed forms") {
  std::vector<Tensor> ps = make_params();
  auto opt = make_sgd(ps);
  optim::StepLR step(*opt, {.step_size = 3, .gamma = 0.5});
  step.step(7);
  CHECK(step.last_epoch() == 7);
  CHECK(step.get_last_lr()[0] == 0.1 * 0.25);
  CHECK(contains(error_message([&] { step.step(2.5); }),
                 "StepLR: step(epoch) needs an integer epoch, got 2.5; hint: only CosineAnnealingWarmRestarts"));
  optim::ExponentialLR exp_lr(*opt, {.gamma = 0.5});
  exp_lr.step(3);
  CHECK(exp_lr.get_last_lr()[1] == 0.05 * 0.125);
  optim::MultiStepLR multi(*opt, {.milestones = {1, 4, 4}, .gamma = 0.1});
  multi.step(4);
  CHECK(multi.get_last_lr()[0] == doctest::Approx(0.1 * 1e-3).epsilon(1e-14));
  optim::CosineAnnealingLR cosine(*opt, {.T_max = 10, .eta_min = 0.0});
  cosine.step(5);
  CHECK(cosine.get_last_lr()[0] == doctest::Approx(0.05).epsilon(1e-14));

  // Fractional epochs for warm restarts: T_0 = 4, T_mult = 2 puts 5.5 at 1.5 into the
  // second period, of length 8.
  std::vector<Tensor> qs = make_params();
  auto opt2 = make_sgd(qs);
  optim::CosineAnnealingWarmRestarts sgdr(*opt2, {.T_0 = 4, .T_mult = 2, .eta_min = 0.001});
  sgdr.step(5.5);
  CHECK(sgdr.T_i() == 8);
  CHECK(sgdr.T_cur() == 1.5);
  CHECK(sgdr.last_epoch() == 5);
  const double want = 0.001 + (0.1 - 0.001) * (1 + std::cos(std::numbers::pi * 1.5 / 8)) / 2;
  CHECK(sgdr.get_last_lr()[0] == want);
  CHECK(structure(sgdr.state_dict()).find("'T_cur': float") != std::string::npos);
  CHECK(contains(error_message([&] { sgdr.step(-1.0); }), "Expected non-negative epoch, but got -1"));
}

TEST_CASE("OneCycleLR: total steps, momentum support, and stepping too far") {
  std::vector<Tensor> ps = make_params();
  auto opt = make_sgd(ps);
  CHECK(contains(error_message([&] { optim::OneCycleLR(*opt, {.max_lr = {0.1}}); }),
                 "You must define either total_steps OR (epochs AND steps_per_epoch)"));
  CHECK(contains(error_message([&] { optim::OneCycleLR(*opt, {.max_lr = {0.1, 0.2, 0.3}, .total_steps = 5}); }),
                 "expected 2 values for max_lr, got 3"));
  CHECK(contains(error_message([&] { optim::OneCycleLR(*opt, {.max_lr = {0.1}, .total_steps = 5, .pct_start = 1.5}); }),
                 "Expected float between 0 and 1 pct_start, but got 1.5"));
  optim::Adagrad adagrad(ps);
  CHECK(contains(error_message([&] { optim::OneCycleLR(adagrad, {.max_lr = {0.1}, .total_steps = 5}); }),
                 "optimizer must support momentum with `cycle_momentum` option enabled"));
  optim::OneCycleLR ok(adagrad, {.max_lr = {0.1}, .total_steps = 3, .cycle_momentum = false});
  ok.step();
  ok.step();
  ok.step();  // last_epoch 3 == total_steps is still allowed, as in PyTorch
  CHECK(contains(error_message([&] { ok.step(); }), "Tried to step 5 times. The specified number of total steps is 3"));
}

TEST_CASE("LambdaLR, SequentialLR and ReduceLROnPlateau check their arguments") {
  std::vector<Tensor> ps = make_params();
  auto opt = make_sgd(ps);
  CHECK(contains(error_message([&] { optim::LambdaLR(*opt, {}); }), "set exactly one of lr_lambda"));
  CHECK(contains(error_message([&] {
                   optim::LambdaLR(*opt, {.lr_lambdas = {[](int64_t) { return 1.0; }}});
                 }),
                 "Expected 2 lr_lambdas, but got 1"));
  optim::LambdaLR one(*opt, {.lr_lambda = [](int64_t e) { return 1.0 / static_cast<double>(e + 1); }});
  one.step();
  CHECK(one.get_last_lr() == std::vector<double>({0.05, 0.025}));

  std::vector<Tensor> qs = make_params();
  auto other = make_sgd(qs);
  auto a = std::make_shared<optim::ExponentialLR>(*opt, optim::ExponentialLROptions{.gamma = 0.9});
  auto b = std::make_shared<optim::ExponentialLR>(*other, optim::ExponentialLROptions{.gamma = 0.9});
  CHECK(contains(error_message([&] { optim::SequentialLR(*opt, {.schedulers = {a, b}, .milestones = {3}}); }),
                 "expects all schedulers to belong to the same optimizer, but got schedulers at index 1"));
  CHECK(contains(error_message([&] { optim::SequentialLR(*opt, {.schedulers = {a}, .milestones = {3}}); }),
                 "but got number of schedulers 1 and the number of milestones to be equal to 1"));

  CHECK(contains(error_message([&] { optim::ReduceLROnPlateau(*opt, {.factor = 1.0}); }),
                 "ReduceLROnPlateau: Factor should be < 1.0, got 1"));
  CHECK(contains(error_message([&] { optim::ReduceLROnPlateau(*opt, {.min_lr = {1, 2, 3}}); }),
                 "expected 2 values for min_lr, got 3"));
  optim::ReduceLROnPlateau plateau(*opt, {.patience = 0});
  CHECK(plateau.get_last_lr().empty());
  plateau.step(1.0);
  plateau.step(2.0);  // worse, patience 0: reduce
  CHECK(plateau.get_last_lr()[0] == doctest::Approx(opt->get_lr(0)));
  CHECK(plateau.num_bad_epochs() == 0);
  Value sd = plateau.state_dict();
  sd.set("mode", "sideways");
  CHECK(contains(error_message([&] { plateau.load_state_dict(sd); }), "'mode' must be 'min' or 'max', got 'sideways'"));
}
