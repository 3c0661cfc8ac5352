// L::callbacks::LearningRateMonitor: a recording L::Logger captures every log_metrics call;
// each test asserts the exact keys, values and steps Lightning 2.x would log for a known
// schedule (values computed by hand in the comments), the key naming rules and the errors.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace C = fulgur::lightning::callbacks;

namespace {

class Recorder : public L::Logger {
 public:
  struct Call {
    std::map<std::string, double> metrics;
    std::optional<int64_t> step;
  };
  std::string name() const override { return "recorder"; }
  Value version() const override { return Value(0); }
  void log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) override {
    calls.push_back({metrics, step});
  }
  void log_hyperparams(const Value&) override {}
  // The monitor's calls: the Trainer's own always carry "epoch", the monitor's never do.
  std::vector<Call> monitor_calls() const {
    std::vector<Call> out;
    for (const Call& c : calls) {
      if (c.metrics.count("epoch") == 0) out.push_back(c);
    }
    return out;
  }
  std::vector<Call> calls;
};

// Logs nothing itself, so that the Recorder sees the monitor's calls only.
class Net : public L::LightningModule {
 public:
  explicit Net(std::function<L::OptimizerConfig(Net&)> make) : make_(std::move(make)) {
    layer = register_module("layer", nn::Linear(1, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override { return make_(*this); }
  std::shared_ptr<nn::Linear> layer;

 private:
  std::function<L::OptimizerConfig(Net&)> make_;
};

std::shared_ptr<data::TensorDataset> dataset(int64_t n) {
  manual_seed(0);
  return std::make_shared<data::TensorDataset>(randn({n, 1}), randn({n, 1}));
}

struct Run {
  std::shared_ptr<Recorder> logger = std::make_shared<Recorder>();
  std::shared_ptr<C::LearningRateMonitor> monitor;
  std::map<std::string, double> callback_metrics;
};

// `samples` rows in batches of 2, no validation.
Run fit(Net& model, C::LearningRateMonitorOptions options, int64_t epochs, int64_t samples,
        int64_t log_every_n_steps) {
  Run r;
  r.monitor = std::make_shared<C::LearningRateMonitor>(options);
  L::Trainer trainer({.callbacks = {r.monitor}, .max_epochs = epochs, .logger = r.logger, .limit_val_batches = 0,
                      .log_every_n_steps = log_every_n_steps, .enable_checkpointing = false,
                      .enable_progress_bar = false, .enable_model_summary = false});
  trainer.fit(model, data::DataLoader(dataset(samples), {.batch_size = 2}));
  r.callback_metrics = trainer.callback_metrics();
  return r;
}

// SGD(lr 0.1, momentum 0.9) with StepLR(step_size 1, gamma 0.5) stepped each epoch.
L::OptimizerConfig sgd_step_lr(Net& m) {
  auto opt = std::make_shared<optim::SGD>(m.parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
  return {opt, {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1, .gamma = 0.5}),
                .interval = "epoch"}};
}

// Adam with two param groups (lr 0.01 and 0.02, weight decay 0 and 0.1, betas (0.8, 0.999)),
// StepLR(step_size 2, gamma 0.1) stepped after each optimizer step.
L::OptimizerConfig adam_two_groups(Net& m) {
  std::vector<optim::ParamGroup> groups = {
      {.params = {m.layer->parameter("weight")}},
      {.params = {m.layer->parameter("bias")}, .options = Value::dict({{"lr", 0.02}, {"weight_decay", 0.1}})}};
  auto opt = std::make_shared<optim::Adam>(std::move(groups), optim::AdamOptions{.lr = 0.01, .betas = {0.8, 0.999}});
  return {opt, {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 2, .gamma = 0.1}),
                .interval = "step"}};
}

void check_call(const Recorder::Call& call, int64_t step, const std::map<std::string, double>& want) {
  CAPTURE(step);
  CHECK(call.step == std::optional<int64_t>(step));
  REQUIRE(call.metrics.size() == want.size());
  for (const auto& [k, v] : want) {
    CAPTURE(k);
    REQUIRE(call.metrics.count(k) == 1);
    CHECK(call.metrics.at(k) == doctest::Approx(v).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("lr monitor: an epoch scheduler is logged at each epoch start (interval None), momentum included") {
  // 4 batches per epoch: epoch starts at batches_that_stepped 0, 4, 8; StepLR halves the lr
  // after each epoch. No call at batch starts: the only scheduler is an "epoch" one.
  Net model(sgd_step_lr);
  Run r = fit(model, {.log_momentum = true}, 3, 8, 1);
  const auto calls = r.logger->monitor_calls();
  REQUIRE(calls.size() == 3);
  check_call(calls[0], 0, {{"lr-SGD", 0.1}, {"lr-SGD-momentum", 0.9}});
  check_call(calls[1], 4, {{"lr-SGD", 0.05}, {"lr-SGD-momentum", 0.9}});
  check_call(calls[2], 8, {{"lr-SGD", 0.025}, {"lr-SGD-momentum", 0.9}});
  CHECK(r.monitor->lrs().at("lr-SGD") == std::vector<double>{0.1, 0.05, 0.025});
  CHECK(r.monitor->last_momentum_values().at("lr-SGD-momentum") == std::optional<double>(0.9));
  // Lightning also puts the values into callback_metrics.
  CHECK(r.callback_metrics.at("lr-SGD") == 0.025);
  CHECK(r.callback_metrics.at("lr-SGD-momentum") == 0.9);
}

TEST_CASE("lr monitor: logging_interval=\"step\" logs every scheduler when the Trainer's logging is due") {
  // log_every_n_steps 2: Lightning logs at the batch start where (batches_that_stepped + 1) % 2
  // == 0, i.e. steps 1, 3, 5, 7, 9, 11; epoch k (4 batches) has lr 0.1 * 0.5^k.
  Net model(sgd_step_lr);
  Run r = fit(model, {.logging_interval = "step"}, 3, 8, 2);
  const auto calls = r.logger->monitor_calls();
  REQUIRE(calls.size() == 6);
  const double want[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
  for (int i = 0; i < 6; ++i) check_call(calls[i], 2 * i + 1, {{"lr-SGD", want[i]}});
}

TEST_CASE("lr monitor: Adam with two param groups, a step scheduler, momentum = betas[0], weight decay") {
  // 3 batches per epoch, 2 epochs, log_every_n_steps 2: batch starts at steps 1, 3, 5 log; the
  // StepLR has stepped k times there, so lr = base * 0.1^(k / 2): base, base / 10, base / 100.
  // Epoch starts log nothing: the scheduler's interval is "step" and no optimizer lacks one.
  Net model(adam_two_groups);
  Run r = fit(model, {.log_momentum = true, .log_weight_decay = true}, 2, 6, 2);
  const auto calls = r.logger->monitor_calls();
  REQUIRE(calls.size() == 3);
  const double scale[] = {1.0, 0.1, 0.01};
  for (int i = 0; i < 3; ++i) {
    check_call(calls[i], 2 * i + 1,
               {{"lr-Adam/pg1", 0.01 * scale[i]},
                {"lr-Adam/pg2", 0.02 * scale[i]},
                {"lr-Adam/pg1-momentum", 0.8},
                {"lr-Adam/pg2-momentum", 0.8},
                {"lr-Adam/pg1-weight_decay", 0.0},
                {"lr-Adam/pg2-weight_decay", 0.1}});
  }
  CHECK(r.monitor->lrs().at("lr-Adam/pg2").size() == 3);
  CHECK(r.monitor->last_weight_decay_values().at("lr-Adam/pg2-weight_decay") == std::optional<double>(0.1));

  // logging_interval="epoch": the same step scheduler logged at the epoch starts (steps 0 and 3;
  // 3 StepLR steps taken by the second: lr = base * 0.1).
  Net model2(adam_two_groups);
  Run r2 = fit(model2, {.logging_interval = "epoch"}, 2, 6, 2);
  const auto calls2 = r2.logger->monitor_calls();
  REQUIRE(calls2.size() == 2);
  check_call(calls2[0], 0, {{"lr-Adam/pg1", 0.01}, {"lr-Adam/pg2", 0.02}});
  check_call(calls2[1], 3, {{"lr-Adam/pg1", 0.001}, {"lr-Adam/pg2", 0.002}});
}

namespace {
// Manual optimization (several optimizers) that never steps: only the names matter here.
class ManyOptimizers : public Net {
 public:
  explicit ManyOptimizers(std::function<L::OptimizerConfig(Net&)> make) : Net(std::move(make)) {
    automatic_optimization(false);
  }
  L::StepOutput training_step(const L::Batch&, int64_t) override { return Tensor(); }
};
}  // namespace

TEST_CASE("lr monitor: key names (duplicate optimizer classes, scheduler name, param group name)") {
  SUBCASE("two SGD and an Adam with a named group, no schedulers") {
    ManyOptimizers model([](Net& m) -> L::OptimizerConfig {
      auto w = std::make_shared<optim::SGD>(std::vector<Tensor>{m.layer->parameter("weight")},
                                            optim::SGDOptions{.lr = 0.1});
      auto b = std::make_shared<optim::SGD>(std::vector<Tensor>{m.layer->parameter("bias")},
                                            optim::SGDOptions{.lr = 0.2});
      auto extra = std::make_shared<optim::Adam>(
          std::vector<optim::ParamGroup>{{.params = {randn({1}).requires_grad_(true)},
                                          .options = Value::dict({{"name", "encoder"}})}},
          optim::AdamOptions{.lr = 0.3});
      return std::vector<std::shared_ptr<optim::Optimizer>>{w, b, extra};
    });
    Run r = fit(model, {.logging_interval = "epoch"}, 1, 4, 1);
    const auto calls = r.logger->monitor_calls();
    REQUIRE(calls.size() == 1);
    check_call(calls[0], 0, {{"lr-SGD", 0.1}, {"lr-SGD-1", 0.2}, {"lr-Adam/encoder", 0.3}});
  }
  SUBCASE("the scheduler config's name wins and does not count as an SGD") {
    ManyOptimizers model([](Net& m) -> L::OptimizerConfig {
      auto w = std::make_shared<optim::SGD>(std::vector<Tensor>{m.layer->parameter("weight")},
                                            optim::SGDOptions{.lr = 0.1});
      auto b = std::make_shared<optim::SGD>(std::vector<Tensor>{m.layer->parameter("bias")},
                                            optim::SGDOptions{.lr = 0.2});
      L::LRSchedulerConfig named{.scheduler = std::make_shared<optim::StepLR>(*w, optim::StepLROptions{.step_size = 5}),
                                 .name = "my_lr"};
      return {std::vector<std::shared_ptr<optim::Optimizer>>{w, b}, {named}};
    });
    Run r = fit(model, {}, 1, 4, 1);  // interval None: "epoch" scheduler and the other SGD at epoch start
    const auto calls = r.logger->monitor_calls();
    REQUIRE(calls.size() >= 1);
    check_call(calls[0], 0, {{"my_lr", 0.1}, {"lr-SGD", 0.2}});
    // Batch starts (log_every_n_steps 1) log the optimizer without a scheduler only; a manual
    // batch counts as stepped (Lightning's _batches_that_stepped), so the second is at step 1.
    REQUIRE(calls.size() == 3);
    check_call(calls[1], 0, {{"lr-SGD", 0.2}});
    check_call(calls[2], 1, {{"lr-SGD", 0.2}});
  }
  SUBCASE("duplicate param group names are an error") {
    Net model([](Net& m) -> L::OptimizerConfig {
      return optim::Adam(std::vector<optim::ParamGroup>{
          {.params = {m.layer->parameter("weight")}, .options = Value::dict({{"name", "a"}})},
          {.params = {m.layer->parameter("bias")}, .options = Value::dict({{"name", "a"}})}});
    });
    CHECK_THROWS_WITH_AS(fit(model, {}, 1, 4, 1),
                         doctest::Contains("A single `Optimizer` cannot have multiple parameter groups with identical "
                                           "`name` values. lr-Adam has duplicated parameter group names {'a'}"),
                         Error);
  }
}

TEST_CASE("lr monitor: errors (no logger, bad logging_interval)") {
  Net model(sgd_step_lr);
  auto monitor = std::make_shared<C::LearningRateMonitor>();
  L::Trainer trainer({.callbacks = {monitor}, .max_epochs = 1, .logger = false, .enable_checkpointing = false,
                      .enable_progress_bar = false, .enable_model_summary = false});
  CHECK_THROWS_WITH_AS(trainer.fit(model, data::DataLoader(dataset(4), {.batch_size = 2})),
                       doctest::Contains("Cannot use `LearningRateMonitor` callback with `Trainer` that has no "
                                         "logger."),
                       Error);
  CHECK_THROWS_WITH_AS(C::LearningRateMonitor({.logging_interval = "batch"}),
                       doctest::Contains("logging_interval should be `step` or `epoch` or `None`."), Error);
  CHECK(C::LearningRateMonitor().state_key() == "LearningRateMonitor");
}
