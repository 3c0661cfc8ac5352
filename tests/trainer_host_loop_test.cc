// Host-driven fit (Trainer::fit_begin / fit_step / fit_validate / fit_epoch_end / fit_end): the
// caller's loop feeding the same batches must give exactly what Trainer::fit gives (weights,
// hook order, checkpoints, scheduler steps), and early stopping reaches the host as a flag.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace fs = std::filesystem;
using fulgur::testing::error_message_of;
using fulgur::testing::quiet_options;
using fulgur::testing::regression_data;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

class Net : public L::LightningModule {
 public:
  Net() {
    manual_seed(3);
    l1 = register_module("l1", nn::Linear(3, 6));
    l2 = register_module("l2", nn::Linear(6, 1));
  }
  Tensor forward(const Tensor& x) override { return (*l2)((*l1)(x).tanh()); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    calls.push_back("training_step");
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::mse_loss(forward(x), y);
    log("train_loss", loss, {.on_epoch = true});
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("val_loss", F::mse_loss(forward(x), y));
  }
  void on_train_epoch_start() override { calls.push_back("on_train_epoch_start"); }
  void on_train_epoch_end() override { calls.push_back("on_train_epoch_end"); }
  void on_validation_epoch_end() override { calls.push_back("on_validation_epoch_end"); }
  void on_train_end() override { calls.push_back("on_train_end"); }
  L::OptimizerConfig configure_optimizers() override {
    auto opt = std::make_shared<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    return {opt,
            {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1, .gamma = 0.5})}};
  }
  std::shared_ptr<nn::Linear> l1, l2;
  std::vector<std::string> calls;
};

}  // namespace

TEST_CASE("host-driven fit equals Trainer::fit: weights, hooks, schedulers, checkpoints") {
  auto ds = regression_data(24);
  data::DataLoader train(ds, {.batch_size = 4});  // 6 batches
  data::DataLoader val(ds, {.batch_size = 12});
  auto options = [](const std::string& dir) {
    L::TrainerOptions o = quiet_options({.max_epochs = 3, .num_sanity_val_steps = 0, .accumulate_grad_batches = 2,
                                         .gradient_clip_val = 0.5});
    o.enable_checkpointing = true;
    o.callbacks = {std::make_shared<L::callbacks::ModelCheckpoint>(
        L::callbacks::ModelCheckpointOptions{.dirpath = dir, .monitor = "val_loss", .save_last = true})};
    return o;
  };
  fs::remove_all("host_ref");
  fs::remove_all("host_run");
  Net reference;
  L::Trainer fit_trainer(options("host_ref"));
  fit_trainer.fit(reference, train, val);

  Net model;
  L::Trainer trainer(options("host_run"));
  trainer.fit_begin(model, val);
  CHECK(trainer.fit_in_progress());
  std::vector<double> losses;
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (const Value& batch : train) losses.push_back(trainer.fit_step(batch));
    trainer.fit_validate();
    trainer.fit_epoch_end();
  }
  trainer.fit_end();
  CHECK_FALSE(trainer.fit_in_progress());
  CHECK(trainer.state().finished());
  CHECK(trainer.global_step() == fit_trainer.global_step());
  CHECK(trainer.global_step() == 9);  // 3 epochs x 6 batches / 2
  CHECK(trainer.current_epoch() == 3);
  CHECK(model.calls == reference.calls);
  const auto got = model.named_parameters();
  const auto want = reference.named_parameters();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(got[i].first);
    CHECK(got[i].second.to_vector<float>() == want[i].second.to_vector<float>());  // bit for bit
  }
  // The losses returned are training_step's, and the run learned.
  REQUIRE(losses.size() == 18);
  CHECK(std::isfinite(losses[0]));
  CHECK(losses.back() < losses.front());
  // StepLR stepped once per epoch: 0.1 * 0.5^3.
  CHECK(trainer.optimizers()[0]->param_groups()[0].lr() == doctest::Approx(0.0125));
  // The same checkpoint files, and the same best score.
  auto names = [](const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  };
  CHECK(names("host_run") == names("host_ref"));
  auto* ckpt = trainer.checkpoint_callback();
  auto* ref_ckpt = fit_trainer.checkpoint_callback();
  CHECK(ckpt->best_model_score().value() == ref_ckpt->best_model_score().value());
}

TEST_CASE("host-driven fit: early stopping is a flag the host reads; errors end the fit like fit()") {
  auto ds = regression_data(8);
  SUBCASE("EarlyStopping sets should_stop after patience validations without improvement") {
    struct Flat : Net {
      void validation_step(const L::Batch&, int64_t) override { log("val_loss", 1.0); }
    };
    Flat model;
    auto early = std::make_shared<L::callbacks::EarlyStopping>(
        L::callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = 2});
    L::Trainer trainer(quiet_options({.callbacks = {early}, .num_sanity_val_steps = 0}));
    trainer.fit_begin(model, data::DataLoader(ds, {.batch_size = 8}));
    int epochs = 0;
    data::DataLoader train(ds, {.batch_size = 4});
    while (!trainer.should_stop() && epochs < 10) {
      for (const Value& batch : train) trainer.fit_step(batch);
      trainer.fit_validate();
      trainer.fit_epoch_end();
      ++epochs;
    }
    trainer.fit_end();
    CHECK(epochs == 3);  // the first value sets the best; two more without improvement stop
    CHECK(early->stopped_epoch() == 2);
  }
  SUBCASE("max_steps sets should_stop") {
    Net model;
    L::Trainer trainer(quiet_options({.max_steps = 3}));
    trainer.fit_begin(model);
    int steps = 0;
    data::DataLoader train(ds, {.batch_size = 2});
    while (!trainer.should_stop() && steps < 10) {
      for (const Value& batch : train) {
        trainer.fit_step(batch);
        ++steps;
        if (trainer.should_stop()) break;
      }
    }
    trainer.fit_end();
    CHECK(steps == 3);
  }
  SUBCASE("an exception in training_step: on_exception, status interrupted, rethrown; then no fit in progress") {
    struct Fails : Net {
      L::StepOutput training_step(const L::Batch& b, int64_t i) override {
        if (i == 1) throw Error("step failed");
        return Net::training_step(b, i);
      }
      void on_exception(const std::exception&) override { saw_exception = true; }
      bool saw_exception = false;
    };
    Fails model;
    L::Trainer trainer(quiet_options({}));
    trainer.fit_begin(model);
    data::DataLoader train(ds, {.batch_size = 4});
    auto it = train.begin();
    trainer.fit_step(*it);
    ++it;
    CHECK(error_message_of([&] { trainer.fit_step(*it); }).find("step failed [raised in `training_step`]") !=
          std::string::npos);
    CHECK(model.saw_exception);
    CHECK(trainer.interrupted());
    CHECK_FALSE(trainer.fit_in_progress());
    CHECK(error_message_of([&] { trainer.fit_step(*it); }).find("no host-driven fit is in progress") !=
          std::string::npos);
  }
}
