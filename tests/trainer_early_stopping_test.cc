// L::callbacks::EarlyStopping: a module logs a scripted val_loss sequence (one value per
// validation run), and each test asserts the epoch the fit stops at, the callback's
// counters and Lightning's stopping reason and message.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace C = fulgur::lightning::callbacks;

namespace {

// The default ModelCheckpoint (and logger) of Trainers without default_root_dir write into the
// current directory: make it this test's temp dir.
[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class Scripted : public L::LightningModule {
 public:
  // `first_run`: the index of the first validation run (a resumed fit continues the script).
  explicit Scripted(std::vector<double> script, int64_t first_run = 0)
      : script_(std::move(script)), run_(first_run) {
    layer = register_module("layer", nn::Linear(1, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  void validation_step(const L::Batch&, int64_t) override {
    const size_t i = std::min<size_t>(static_cast<size_t>(run_), script_.size() - 1);
    log(metric_name, script_[i]);
  }
  // Sanity-check runs do not advance the script (their logs are dropped anyway).
  void on_validation_end() override {
    if (!trainer().sanity_checking()) ++run_;
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }

  std::shared_ptr<nn::Linear> layer;
  std::string metric_name = "val_loss";
  int64_t runs() const { return run_; }

 private:
  std::vector<double> script_;
  int64_t run_;
};

std::shared_ptr<data::TensorDataset> dataset() {
  manual_seed(0);
  return std::make_shared<data::TensorDataset>(randn({4, 1}), randn({4, 1}));
}

struct Run {
  std::shared_ptr<C::EarlyStopping> es;
  int64_t epochs = 0;  // trainer.current_epoch() after the fit
  int64_t steps = 0;
  int64_t val_runs = 0;
};

Run fit(std::vector<double> script, C::EarlyStoppingOptions options, L::TrainerOptions topts = {}) {
  auto ds = dataset();
  Scripted model(std::move(script));
  auto es = std::make_shared<C::EarlyStopping>(std::move(options));
  topts.callbacks = {es};
  if (!topts.max_epochs) topts.max_epochs = 10;
  topts.enable_progress_bar = false;
  L::Trainer trainer(topts);
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 1}), data::DataLoader(ds, {.batch_size = 4}));
  return {es, trainer.current_epoch(), trainer.global_step(), model.runs()};
}

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::filesystem::path base = dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
  return (base / ("fulgur_es_" + name)).string();
}

}  // namespace

TEST_CASE("early stopping: patience counts checks without improvement") {
  // 5 (best), 4 (best), 4 (wait 1), 4 (wait 2 = patience): stops at epoch 3.
  Run r = fit({5, 4, 4, 4, 4}, {.monitor = "val_loss", .patience = 2});
  CHECK(r.es->stopped_epoch() == 3);
  CHECK(r.epochs == 4);  // epoch 3 ends normally, then the loop stops
  CHECK(r.es->wait_count() == 2);
  CHECK(r.es->best_score() == 4.0);
  CHECK(r.es->stopping_reason() == C::EarlyStoppingReason::PatienceExhausted);
  CHECK(r.es->stopping_reason_message() ==
        "Monitored metric val_loss did not improve in the last 2 records. Best score: 4.000. Signaling Trainer to stop.");
  CHECK(r.es->check_on_train_epoch_end() == true);  // val_check_interval 1.0, every epoch
  CHECK(r.es->state_key() == "EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}");
}

TEST_CASE("early stopping: no stop while improving; max_epochs ends the fit") {
  Run r = fit({9, 8, 7, 6, 5, 4}, {.monitor = "val_loss", .patience = 1}, {.max_epochs = 5});
  CHECK(r.epochs == 5);
  CHECK(r.es->stopped_epoch() == 0);
  CHECK(r.es->wait_count() == 0);
  CHECK(r.es->best_score() == 5.0);
  CHECK(r.es->stopping_reason() == C::EarlyStoppingReason::NotStopped);
  CHECK(r.es->stopping_reason_message().empty());
}

TEST_CASE("early stopping: min_delta (min mode) needs an improvement of more than min_delta") {
  // best 5; 4.5 (+0.6 = 5.1, not < 5: wait 1); 4.2 (4.8 < 5: best); 4.0 (wait 1); 3.9 (wait 2): stop at 4.
  Run r = fit({5, 4.5, 4.2, 4.0, 3.9, 3.8, 3.7}, {.monitor = "val_loss", .min_delta = 0.6, .patience = 2});
  CHECK(r.es->min_delta() == -0.6);
  CHECK(r.es->stopped_epoch() == 4);
  CHECK(r.epochs == 5);
  CHECK(r.es->best_score() == 4.2);
  CHECK(r.es->stopping_reason() == C::EarlyStoppingReason::PatienceExhausted);
}

TEST_CASE("early stopping: mode max") {
  auto ds = dataset();
  Scripted model({1, 2, 3, 3.05, 2.5, 4});
  model.metric_name = "val_acc";
  auto es = std::make_shared<C::EarlyStopping>(
      C::EarlyStoppingOptions{.monitor = "val_acc", .min_delta = 0.1, .patience = 2, .mode = "max"});
  L::Trainer trainer({.callbacks = {es}, .max_epochs = 10, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 1}), data::DataLoader(ds, {.batch_size = 4}));
  // 1, 2, 3 improve; 3.05 (- 0.1 = 2.95, not > 3: wait 1); 2.5 (wait 2): stop at epoch 4.
  CHECK(es->min_delta() == 0.1);
  CHECK(es->stopped_epoch() == 4);
  CHECK(trainer.current_epoch() == 5);
  CHECK(es->best_score() == 3.0);
  CHECK(es->state_key() == "EarlyStopping{'monitor': 'val_acc', 'mode': 'max'}");
}

TEST_CASE("early stopping: stopping_threshold") {
  Run r = fit({5, 3, 1.5, 1}, {.monitor = "val_loss", .patience = 3, .stopping_threshold = 2.0});
  CHECK(r.es->stopped_epoch() == 2);
  CHECK(r.epochs == 3);
  CHECK(r.es->best_score() == 3.0);  // the threshold branch does not record a best
  CHECK(r.es->stopping_reason() == C::EarlyStoppingReason::StoppingThreshold);
  CHECK(r.es->stopping_reason_message() == "Stopping threshold reached: val_loss = 1.5 < 2. Signaling Trainer to stop.");
}

TEST_CASE("early stopping: divergence_threshold") {
  Run r = fit({5, 4, 12, 3}, {.monitor = "val_loss", .patience = 3, .divergence_threshold = 10.0});
  CHECK(r.es->stopped_epoch() == 2);
  CHECK(r.epochs == 3);
  CHECK(r.es->best_score() == 4.0);
  CHECK(r.es->stopping_reason() == C::EarlyStoppingReason::DivergenceThreshold);
  // Lightning prints the mode's order sign ("<" for min) here too.
  CHECK(r.es->stopping_reason_message() ==
        "Divergence threshold reached: val_loss = 12 < 10. Signaling Trainer to stop.");
}

TEST_CASE("early stopping: check_finite stops on NaN; without it NaN is no improvement") {
  Run r = fit({5, 4, kNaN, 3}, {.monitor = "val_loss", .patience = 3});
  CHECK(r.es->stopped_epoch() == 2);
  CHECK(r.epochs == 3);
  CHECK(r.es->stopping_reason() == C::EarlyStoppingReason::NonFiniteMetric);
  CHECK(r.es->stopping_reason_message() ==
        "Monitored metric val_loss = nan is not finite. Previous best value was 4.000. Signaling Trainer to stop.");

  Run r2 = fit({5, 4, kNaN, kNaN, 4}, {.monitor = "val_loss", .patience = 2, .check_finite = false});
  CHECK(r2.es->stopped_epoch() == 3);
  CHECK(r2.es->stopping_reason() == C::EarlyStoppingReason::PatienceExhausted);
  CHECK(r2.es->best_score() == 4.0);
}

TEST_CASE("early stopping: a missing monitored metric (strict: Lightning's error; else skipped)") {
  CHECK_THROWS_WITH_AS(fit({5, 4}, {.monitor = "val_acc"}),
                       doctest::Contains("Early stopping conditioned on metric `val_acc` which is not available. Pass "
                                         "in or modify your `EarlyStopping` callback to use any of the following: "
                                         "`val_loss`"),
                       Error);
  Run r = fit({5, 5, 5}, {.monitor = "val_acc", .patience = 1, .strict = false}, {.max_epochs = 3});
  CHECK(r.epochs == 3);
  CHECK(r.es->wait_count() == 0);
  CHECK(r.es->stopping_reason() == C::EarlyStoppingReason::NotStopped);
  CHECK_THROWS_WITH_AS(C::EarlyStopping({.monitor = "val_loss", .mode = "avg"}),
                       doctest::Contains("`mode` can be min, max, got avg"), Error);
}

TEST_CASE("early stopping: min_epochs keeps the fit going (the Trainer's rule)") {
  Run r = fit({5, 5, 5, 5, 5, 5}, {.monitor = "val_loss", .patience = 1}, {.min_epochs = 4});
  CHECK(r.epochs == 4);
  CHECK(r.es->stopped_epoch() == 3);  // every check from epoch 1 on says stop
  CHECK(r.es->wait_count() == 3);
}

TEST_CASE("early stopping: several validations per epoch -> checked at validation end, mid-epoch stop") {
  // val_check_interval 0.5 over 4 batches: validation after batches 1 and 3. Checks: 5, 4
  // (epoch 0), 4 at epoch 1 batch 1 -> stop there.
  Run r = fit({5, 4, 4, 4}, {.monitor = "val_loss", .patience = 1}, {.val_check_interval = 0.5});
  CHECK(r.es->check_on_train_epoch_end() == false);
  CHECK(r.es->stopped_epoch() == 1);
  CHECK(r.val_runs == 3);
  CHECK(r.steps == 6);
  CHECK(r.epochs == 2);
  // Forced to the train epoch end: one check per epoch, on the epoch's last validation.
  Run r2 = fit({5, 4, 4, 4, 4, 4}, {.monitor = "val_loss", .patience = 1, .check_on_train_epoch_end = true},
               {.val_check_interval = 0.5});
  CHECK(r2.es->stopped_epoch() == 1);
  CHECK(r2.val_runs == 4);
  CHECK(r2.steps == 8);
}

TEST_CASE("early stopping: state saved in checkpoints and restored on resume") {
  auto ds = dataset();
  const std::string path = temp_path("resume.ckpt");
  {
    Scripted model({5, 4, 4});
    auto es = std::make_shared<C::EarlyStopping>(C::EarlyStoppingOptions{.monitor = "val_loss", .patience = 3});
    L::Trainer trainer({.callbacks = {es}, .max_epochs = 3, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 1}), data::DataLoader(ds, {.batch_size = 4}));
    CHECK(es->wait_count() == 1);
    trainer.save_checkpoint(path);
  }
  const Value ck = fulgur::load(path);
  const Value* state = ck.find("callbacks")->find("EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}");
  REQUIRE(state != nullptr);
  CHECK(state->find("wait_count")->as_int() == 1);
  CHECK(state->find("stopped_epoch")->as_int() == 0);
  CHECK(state->find("best_score")->to_double() == 4.0);
  CHECK(state->find("patience")->as_int() == 3);

  // Resumed: wait 1 -> 2 (epoch 3) -> 3 (epoch 4): stop at 4. A fresh state would stop at 6.
  Scripted model({5, 4, 4, 4, 4, 4, 4, 4, 4, 4}, 3);
  auto es = std::make_shared<C::EarlyStopping>(C::EarlyStoppingOptions{.monitor = "val_loss", .patience = 3});
  L::Trainer trainer({.callbacks = {es}, .max_epochs = 10, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 1}), data::DataLoader(ds, {.batch_size = 4}),
              {.ckpt_path = path});
  CHECK(es->stopped_epoch() == 4);
  CHECK(trainer.current_epoch() == 5);
  CHECK(es->stopping_reason() == C::EarlyStoppingReason::PatienceExhausted);
}
