// L::callbacks::GradientAccumulationScheduler: the optimizer steps per epoch follow the
// schedule, the parameters equal a hand-written loop with the same accumulation windows
// (Lightning's: the loss divided by the epoch's factor, a step at the end of each window and
// at the epoch's last batch), and Lightning's validation errors.
#include <cmath>
#include <memory>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace C = fulgur::lightning::callbacks;

namespace {

using fulgur::testing::regression_data;  // y = x . [1, -2, 0.5] + 0.3

class Regressor : public L::LightningModule {
 public:
  Regressor() { layer = register_module("layer", nn::Linear(3, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.05}); }
  // What the Trainer reports at each epoch end.
  void on_train_epoch_end() override {
    steps.push_back(trainer().global_step());
    factors.push_back(trainer().accumulate_grad_batches());
    estimated.push_back(trainer().estimated_stepping_batches());
  }
  std::shared_ptr<nn::Linear> layer;
  std::vector<int64_t> steps, factors, estimated;
};

}  // namespace

TEST_CASE("accumulation scheduler: {1: 2, 2: 3} steps 5, 3, 2 times over epochs of 5 batches, as a hand loop") {
  auto ds = regression_data(20);  // 5 batches of 4
  Regressor model;
  auto reference = std::make_shared<nn::Linear>(3, 1);
  reference->load_state_dict(model.layer->state_dict());
  auto scheduler = std::make_shared<C::GradientAccumulationScheduler>(
      C::GradientAccumulationSchedulerOptions{.scheduling = {{1, 2}, {2, 3}}});
  CHECK(scheduler->scheduling() == std::map<int64_t, int64_t>{{0, 1}, {1, 2}, {2, 3}});  // {0: 1} added
  CHECK(scheduler->going_to_accumulate_grad_batches());
  L::Trainer trainer({.callbacks = {scheduler}, .max_epochs = 3, .logger = false, .limit_val_batches = 0,
                      .enable_checkpointing = false, .enable_progress_bar = false, .enable_model_summary = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  // ceil(5 / 1) = 5, ceil(5 / 2) = 3, ceil(5 / 3) = 2 optimizer steps.
  CHECK(model.steps == std::vector<int64_t>{5, 8, 10});
  CHECK(model.factors == std::vector<int64_t>{1, 2, 3});
  // estimated_stepping_batches uses the factor in force: ceil(5 / factor) * 3 epochs.
  CHECK(model.estimated == std::vector<int64_t>{15, 9, 6});
  CHECK(trainer.global_step() == 10);

  // Lightning's windows: zero_grad at batch_idx % f == 0, backward(loss / f), step when
  // (batch_idx + 1) % f == 0 or at the epoch's last batch (then still divided by f).
  optim::SGD opt(reference->parameters(), {.lr = 0.05});
  const int64_t factors[] = {1, 2, 3};
  for (int64_t f : factors) {
    int64_t i = 0;
    for (const Value& batch : data::DataLoader(ds, {.batch_size = 4})) {
      if (i % f == 0) opt.zero_grad();
      F::mse_loss((*reference)(batch[0].as_tensor()), batch[1].as_tensor()).div(static_cast<double>(f)).backward();
      if ((i + 1) % f == 0 || i + 1 == 5) opt.step();
      ++i;
    }
  }
  const auto got = model.layer->parameter("weight").to_vector<float>();
  const auto want = reference->parameter("weight").to_vector<float>();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) < 1e-6);
  CHECK(std::abs(model.layer->parameter("bias").item<double>() - reference->parameter("bias").item<double>()) < 1e-6);
}

TEST_CASE("accumulation scheduler: get_accumulate_grad_batches picks the last scheduled epoch <= epoch") {
  C::GradientAccumulationScheduler s({.scheduling = {{0, 4}, {3, 1}, {5, 8}}});
  const int64_t want[] = {4, 4, 4, 1, 1, 8, 8};
  for (int64_t e = 0; e < 7; ++e) CHECK(s.get_accumulate_grad_batches(e) == want[e]);
  CHECK(s.epochs() == std::vector<int64_t>{0, 3, 5});
  C::GradientAccumulationScheduler ones({.scheduling = {{2, 1}}});
  CHECK_FALSE(ones.going_to_accumulate_grad_batches());
  CHECK(ones.state_key() == "GradientAccumulationScheduler");
}

TEST_CASE("accumulation scheduler: Lightning's errors") {
  CHECK_THROWS_WITH_AS(C::GradientAccumulationScheduler({}),
                       doctest::Contains("Empty dict cannot be interpreted correct"), Error);
  CHECK_THROWS_WITH_AS(C::GradientAccumulationScheduler({.scheduling = {{-1, 2}, {3, 4}}}),
                       doctest::Contains("Epoch should be an int greater than or equal to 0. Got [-1, 3]."), Error);
  CHECK_THROWS_WITH_AS(C::GradientAccumulationScheduler({.scheduling = {{0, 2}, {3, 0}}}),
                       doctest::Contains("Accumulation factor should be an int greater than 0. Got [2, 0]."), Error);

  auto ds = regression_data(8);
  auto scheduler = std::make_shared<C::GradientAccumulationScheduler>(
      C::GradientAccumulationSchedulerOptions{.scheduling = {{0, 2}}});
  {
    Regressor model;
    L::Trainer trainer({.callbacks = {scheduler}, .max_epochs = 1, .logger = false, .limit_val_batches = 0,
                        .enable_checkpointing = false, .enable_progress_bar = false, .enable_model_summary = false,
                        .accumulate_grad_batches = 2});
    CHECK_THROWS_WITH_AS(trainer.fit(model, data::DataLoader(ds, {.batch_size = 4})),
                         doctest::Contains("You have set `accumulate_grad_batches` and are using the "
                                           "`GradientAccumulationScheduler` callback. Either remove "
                                           "`accumulate_grad_batches` from the Trainer or remove the callback."),
                         Error);
  }
  {
    struct Manual : Regressor {
      Manual() { automatic_optimization(false); }
      L::StepOutput training_step(const L::Batch&, int64_t) override { return Tensor(); }
    };
    Manual model;
    L::Trainer trainer({.callbacks = {scheduler}, .max_epochs = 1, .logger = false, .limit_val_batches = 0,
                        .enable_checkpointing = false, .enable_progress_bar = false, .enable_model_summary = false});
    CHECK_THROWS_WITH_AS(trainer.fit(model, data::DataLoader(ds, {.batch_size = 4})),
                         doctest::Contains("`GradientAccumulationScheduler` is not supported for manual optimization"),
                         Error);
  }
  CHECK_THROWS_WITH_AS(L::Trainer().accumulate_grad_batches(0), doctest::Contains("must be a positive integer"),
                       Error);
}
