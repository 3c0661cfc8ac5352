// L::callbacks::Timer and Trainer(max_time): durations in Lightning's three forms, where the
// fit stops (a spent duration stops at the first check: after the first batch for "step",
// after the first epoch for "epoch", at fit start when already spent), a long duration that
// never stops, the per-stage clocks, and the elapsed time kept through a checkpoint. The
// training step sleeps, so the assertions hold whatever the machine's speed.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace C = fulgur::lightning::callbacks;

namespace {

constexpr double kSleep = 0.005;  // seconds per training step

class Sleepy : public L::LightningModule {
 public:
  Sleepy() { layer = register_module("layer", nn::Linear(1, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    std::this_thread::sleep_for(std::chrono::duration<double>(kSleep));
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("val_loss", F::mse_loss(forward(x), y));
  }
  void test_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("test_loss", F::mse_loss(forward(x), y));
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
  std::shared_ptr<nn::Linear> layer;
};

std::shared_ptr<data::TensorDataset> dataset() {
  manual_seed(0);
  return std::make_shared<data::TensorDataset>(randn({8, 1}), randn({8, 1}));
}

// 4 training batches per epoch, no validation unless asked.
L::TrainerOptions options(std::vector<std::shared_ptr<L::Callback>> callbacks, int64_t epochs) {
  return {.callbacks = std::move(callbacks), .max_epochs = epochs, .logger = false, .limit_val_batches = 0,
          .enable_checkpointing = false, .enable_progress_bar = false, .enable_model_summary = false};
}

std::vector<C::Timer*> timers(const L::Trainer& trainer) {
  std::vector<C::Timer*> out;
  for (const auto& c : trainer.options().callbacks) {
    if (auto* t = dynamic_cast<C::Timer*>(c.get())) out.push_back(t);
  }
  return out;
}

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::filesystem::path base =
      dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
  return (base / ("fulgur_timer_" + name)).string();
}

}  // namespace

TEST_CASE("timer: durations as seconds, DD:HH:MM:SS and TimeDelta; Lightning's errors") {
  CHECK(C::TimerDuration(90).total_seconds() == 90);
  CHECK(C::TimerDuration(1.5).total_seconds() == 1.5);
  CHECK(C::TimerDuration("01:02:03:04").total_seconds() == 86400 + 2 * 3600 + 3 * 60 + 4);
  CHECK(C::TimerDuration(std::string(" 00:12:00:00 ")).total_seconds() == 12 * 3600);
  CHECK(C::TimerDuration(C::TimeDelta{.weeks = 1, .days = 2}).total_seconds() == 9 * 86400);
  CHECK(C::TimerDuration(C::TimeDelta{.hours = 1, .minutes = 30, .milliseconds = 500}).total_seconds() == 5400.5);
  CHECK_THROWS_WITH_AS(C::TimerDuration("1:2:3"), doctest::Contains("Expected DD:HH:MM:SS format"), Error);
  CHECK_THROWS_WITH_AS(C::TimerDuration("00:1:00:00"), doctest::Contains("is not a valid duration"), Error);
  CHECK_THROWS_WITH_AS(C::Timer({.interval = "hour"}),
                       doctest::Contains("Unsupported parameter value `Timer(interval=hour)`"), Error);
  C::Timer timer({.duration = "00:00:01:00"});
  CHECK(timer.duration() == std::optional<double>(60));
  CHECK(timer.interval() == "step");
  CHECK(timer.state_key() == "Timer");
  CHECK(timer.time_elapsed() == 0);
  CHECK(timer.time_remaining() == std::optional<double>(60));
  CHECK(C::Timer().time_remaining() == std::nullopt);
  CHECK_THROWS_WITH_AS(timer.start_time("training"), doctest::Contains("'training' is not a valid RunningStage"),
                       Error);
}

TEST_CASE("timer: a spent duration stops at the first check of its interval") {
  auto ds = dataset();
  SUBCASE("interval step: after the first batch") {
    Sleepy model;
    auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = 1e-6, .verbose = false});
    L::Trainer trainer(options({timer}, 5));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
    CHECK(trainer.global_step() == 1);
    CHECK(trainer.current_epoch() == 1);  // the stopped epoch still ends
    CHECK(trainer.should_stop());
    REQUIRE(timer->start_time("train").has_value());
    REQUIRE(timer->end_time("train").has_value());
    CHECK(timer->time_elapsed("train") >= kSleep);
    CHECK(*timer->time_remaining() < 0);
  }
  SUBCASE("interval epoch: after the first epoch") {
    Sleepy model;
    auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = 1e-6, .interval = "epoch", .verbose = false});
    L::Trainer trainer(options({timer}, 5));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
    CHECK(trainer.global_step() == 4);
    CHECK(trainer.current_epoch() == 1);
    CHECK(timer->time_elapsed("train") >= 4 * kSleep);
  }
  SUBCASE("duration 0: spent at fit start, no batch runs") {
    Sleepy model;
    auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = 0});
    L::Trainer trainer(options({timer}, 5));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
    CHECK(trainer.global_step() == 0);
    CHECK(trainer.current_epoch() == 0);
  }
  SUBCASE("min_epochs still wins over the timer") {
    Sleepy model;
    auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = 1e-6, .verbose = false});
    L::TrainerOptions o = options({timer}, 5);
    o.min_epochs = 2;
    L::Trainer trainer(o);
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
    CHECK(trainer.global_step() == 8);
    CHECK(trainer.current_epoch() == 2);
  }
}

TEST_CASE("timer: a long duration (or none) never stops; validate and test are timed") {
  auto ds = dataset();
  Sleepy model;
  auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = "01:00:00:00"});
  L::TrainerOptions o = options({timer}, 3);
  o.limit_val_batches = 1.0;
  L::Trainer trainer(o);
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK(trainer.global_step() == 12);
  CHECK(trainer.current_epoch() == 3);
  CHECK_FALSE(trainer.should_stop());
  CHECK(timer->time_elapsed("train") >= 12 * kSleep);
  CHECK(*timer->time_remaining() > 86400 - 60);
  REQUIRE(timer->start_time("validate").has_value());
  CHECK(*timer->start_time("validate") >= *timer->start_time("train"));
  CHECK(timer->end_time("validate") >= timer->start_time("validate"));
  CHECK_FALSE(timer->start_time("test").has_value());
  trainer.test(model, data::DataLoader(ds, {.batch_size = 4}), {.verbose = false});
  CHECK(timer->start_time("test").has_value());
  CHECK(timer->end_time("test") >= timer->start_time("test"));
  CHECK_FALSE(timer->start_time("predict").has_value());  // Lightning times train, validate, test only
  CHECK(timer->time_elapsed("predict") == 0);

  Sleepy free_model;
  auto untimed = std::make_shared<C::Timer>();
  L::Trainer free_trainer(options({untimed}, 2));
  free_trainer.fit(free_model, data::DataLoader(ds, {.batch_size = 2}));
  CHECK(free_trainer.global_step() == 8);
  CHECK(untimed->time_elapsed() >= 8 * kSleep);
}

TEST_CASE("Trainer(max_time): adds a step Timer unless the callbacks have one") {
  auto ds = dataset();
  Sleepy model;
  L::TrainerOptions o = options({}, 5);
  o.max_time = 1e-6;
  L::Trainer trainer(o);
  REQUIRE(timers(trainer).size() == 1);
  C::Timer* timer = timers(trainer)[0];
  CHECK(timer->interval() == "step");
  CHECK(timer->duration() == std::optional<double>(1e-6));
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
  CHECK(trainer.global_step() == 1);

  // A Timer in the callbacks wins: max_time is ignored (Lightning logs a message, no error).
  Sleepy model2;
  auto own = std::make_shared<C::Timer>(C::TimerOptions{.duration = "00:01:00:00"});
  L::TrainerOptions o2 = options({own}, 2);
  o2.max_time = "00:00:00:00";
  L::Trainer trainer2(o2);
  REQUIRE(timers(trainer2).size() == 1);
  CHECK(timers(trainer2)[0] == own.get());
  trainer2.fit(model2, data::DataLoader(ds, {.batch_size = 2}));
  CHECK(trainer2.global_step() == 8);

  L::TrainerOptions designated{.max_epochs = 1, .max_time = C::TimeDelta{.hours = 2}};
  CHECK(designated.max_time->total_seconds() == 7200);
}

TEST_CASE("timer: elapsed time saved in checkpoints; a resumed timer continues from it") {
  auto ds = dataset();
  const std::string path = temp_path("resume.ckpt");
  double saved = 0;
  {
    Sleepy model;
    auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = "00:01:00:00"});
    L::Trainer trainer(options({timer}, 1));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
    trainer.save_checkpoint(path);
    saved = timer->time_elapsed("train");
    CHECK(saved >= 4 * kSleep);
  }
  const Value ck = fulgur::load(path);
  const Value* state = ck.find("callbacks")->find("Timer");
  REQUIRE(state != nullptr);
  const Value* elapsed = state->find("time_elapsed");
  REQUIRE(elapsed != nullptr);
  CHECK(elapsed->find("train")->to_double() == saved);  // the train clock had stopped
  for (const char* stage : {"sanity_check", "validate", "test", "predict"}) {
    CAPTURE(stage);
    REQUIRE(elapsed->find(stage) != nullptr);
    CHECK(elapsed->find(stage)->to_double() == 0);
  }

  SUBCASE("a duration shorter than the saved time stops at fit start") {
    Sleepy model;
    auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = saved / 2, .verbose = false});
    L::Trainer trainer(options({timer}, 5));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), {}, {.ckpt_path = path});
    CHECK(trainer.global_step() == 4);  // nothing trained after the resume
    CHECK(timer->time_elapsed("train") >= saved);
  }
  SUBCASE("a long duration continues and adds the new time to the saved one") {
    Sleepy model;
    auto timer = std::make_shared<C::Timer>(C::TimerOptions{.duration = "00:01:00:00"});
    L::Trainer trainer(options({timer}, 2));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), {}, {.ckpt_path = path});
    CHECK(trainer.global_step() == 8);
    CHECK(timer->time_elapsed("train") >= saved + 4 * kSleep);
    CHECK(timer->time_elapsed("train") - saved < 3600);
  }
}
