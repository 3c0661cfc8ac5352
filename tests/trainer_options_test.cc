// Trainer options with Lightning's semantics: overfit_batches, reload_dataloaders_every_n_epochs,
// detect_anomaly and inference_mode (and their place in the LightningCLI's option table).
#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/algorithm_flags.h"
#include "fulgur/trainer/cli_trainer_options.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

using fulgur::testing::quiet_options;

// Rows numbered 0..n-1 (x = [i], y = [i]): a batch's first x says where it starts.
std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  Tensor x = arange(0, static_cast<double>(n)).reshape({n, 1}).to(DType::Float32);
  return std::make_shared<data::TensorDataset>(x, x.clone());
}

// Records the first row of every train / val batch, per epoch.
class Recorder : public L::LightningModule {
 public:
  Recorder() { layer = register_module("layer", nn::Linear(1, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    train_first_rows.push_back(static_cast<int64_t>(x.to_vector<float>()[0]));
    train_grad_enabled = is_grad_enabled();
    return F::mse_loss(forward(x), y).mul(0.0);  // keep the weights (and the sums) tame
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    val_first_rows.push_back(static_cast<int64_t>(x.to_vector<float>()[0]));
    val_grad_enabled.push_back(is_grad_enabled());
    Tensor out = forward(x);
    val_output_requires_grad = out.requires_grad();
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
  std::shared_ptr<nn::Linear> layer;
  std::vector<int64_t> train_first_rows, val_first_rows;
  std::vector<bool> val_grad_enabled;
  bool train_grad_enabled = false;
  bool val_output_requires_grad = true;
};

}  // namespace

TEST_CASE("overfit_batches=2: the same first 2 train batches every epoch (shuffling off), 2 val batches") {
  auto train_ds = numbered(40);  // 10 batches of 4
  auto val_ds = numbered(20);    // 5 batches of 4
  Recorder model;
  data::DataLoader train(train_ds, {.batch_size = 4, .shuffle = true});
  data::DataLoader val(val_ds, {.batch_size = 4});
  L::Trainer t(quiet_options({.max_epochs = 3, .overfit_batches = 2}));
  // Lightning's _init_debugging_flags: limit_train/val_batches become the overfit value.
  CHECK(t.options().limit_train_batches.is_count());
  CHECK(t.options().limit_train_batches.count() == 2);
  CHECK(t.options().limit_val_batches.count() == 2);
  t.fit(model, train, val);
  CHECK(t.num_training_batches() == 2);
  CHECK(t.num_val_batches() == std::vector<int64_t>{2});
  CHECK(t.global_step() == 3 * 2);
  // Unshuffled: rows 0 and 4 start the batches, in every epoch.
  CHECK(model.train_first_rows == std::vector<int64_t>{0, 4, 0, 4, 0, 4});
  // The sanity check's 2 batches, then 2 per epoch, from the val loader (Lightning 2.x keeps
  // the val loader: test_overfit_batch_limits_eval).
  CHECK(model.val_first_rows == std::vector<int64_t>{0, 4, 0, 4, 0, 4, 0, 4});
}

TEST_CASE("overfit_batches as a fraction, and its checks") {
  auto ds = numbered(32);  // 8 batches of 4
  Recorder model;
  L::Trainer t(quiet_options({.max_epochs = 1, .overfit_batches = 0.25, .num_sanity_val_steps = 0}));
  t.fit(model, data::DataLoader(ds, {.batch_size = 4, .shuffle = true}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK(t.num_training_batches() == 2);  // int(0.25 * 8), as test_overfit_basic computes it
  CHECK(t.num_val_batches() == std::vector<int64_t>{2});
  CHECK(model.train_first_rows == std::vector<int64_t>{0, 4});
  CHECK(fulgur::testing::error_message_of([] { L::Trainer bad(quiet_options({.overfit_batches = -1})); })
            .find("`overfit_batches` must be a non-negative int") != std::string::npos);
  CHECK(fulgur::testing::error_message_of([] { L::Trainer bad(quiet_options({.overfit_batches = 1.5})); })
            .find("`overfit_batches` must be an int or a float between 0.0 and 1.0, got 1.5") != std::string::npos);
  // Default 0.0: the limits stay as given.
  L::Trainer plain(quiet_options({.limit_train_batches = 3}));
  CHECK(plain.options().limit_train_batches.count() == 3);
  CHECK(plain.options().limit_val_batches.fraction() == 1.0);
}

namespace {
// train_dataloader grows with the epoch it is asked in: 4 * (epoch + 1) rows, batches of 4.
class Reloading : public Recorder {
 public:
  L::Loaders train_dataloader() override {
    train_requests.push_back(current_epoch());
    return data::DataLoader(numbered(4 * (current_epoch() + 1)), {.batch_size = 4});
  }
  L::Loaders val_dataloader() override {
    val_requests.push_back(current_epoch());
    return data::DataLoader(numbered(8), {.batch_size = 4});
  }
  std::vector<int64_t> train_requests, val_requests;
};
}  // namespace

TEST_CASE("reload_dataloaders_every_n_epochs=2: loaders requested at epochs 0, 2, 4") {
  Reloading model;
  L::Trainer t(quiet_options({.max_epochs = 5, .reload_dataloaders_every_n_epochs = 2}));
  t.fit(model);
  CHECK(model.train_requests == std::vector<int64_t>{0, 2, 4});
  CHECK(model.val_requests == std::vector<int64_t>{0, 2, 4});
  // Batches per epoch follow the reloaded loader: 1, 1, 3, 3, 5.
  CHECK(t.global_step() == 1 + 1 + 3 + 3 + 5);
  CHECK(t.num_training_batches() == 5);

  Reloading once;
  L::Trainer t0(quiet_options({.max_epochs = 3}));
  t0.fit(once);
  CHECK(once.train_requests == std::vector<int64_t>{0});  // default 0: once per fit
  CHECK(once.val_requests == std::vector<int64_t>{0});
  CHECK(t0.global_step() == 3);

  Reloading every;
  L::Trainer t1(quiet_options({.max_epochs = 3, .reload_dataloaders_every_n_epochs = 1}));
  t1.fit(every);
  CHECK(every.train_requests == std::vector<int64_t>{0, 1, 2});
  CHECK(every.val_requests == std::vector<int64_t>{0, 1, 2});

  CHECK(fulgur::testing::error_message_of([] { L::Trainer bad(quiet_options({.reload_dataloaders_every_n_epochs = -1})); })
            .find("`reload_dataloaders_every_n_epochs` should be an int >= 0, got -1.") != std::string::npos);
}

TEST_CASE("reload_dataloaders_every_n_epochs keeps loaders passed to fit") {
  auto ds = numbered(8);
  Recorder model;
  data::DataLoader train(ds, {.batch_size = 4});
  L::Trainer t(quiet_options({.max_epochs = 3, .limit_val_batches = 0, .reload_dataloaders_every_n_epochs = 1}));
  t.fit(model, train);  // Recorder has no train_dataloader hook: asking it would fail
  CHECK(t.global_step() == 3 * 2);
}

namespace {
// The loss is sqrt(w * 0 + 0): its backward divides by 2 * sqrt(0), an inf.
class Exploding : public Recorder {
 public:
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return forward(x).mul(0.0).sum().sqrt();
  }
};
}  // namespace

TEST_CASE("detect_anomaly: an inf in backward raises the anomaly error naming the op; the mode is restored") {
  auto ds = numbered(8);
  REQUIRE(!autograd::is_anomaly_enabled());
  {
    Exploding model;
    L::Trainer t(quiet_options({.max_epochs = 1, .limit_val_batches = 0, .detect_anomaly = true}));
    const std::string e = fulgur::testing::error_message_of([&] { t.fit(model, data::DataLoader(ds, {.batch_size = 4})); });
    CHECK(e.find("returned nan or inf values") != std::string::npos);
    CHECK(e.find("function 'SqrtBackward' returned nan or inf values") != std::string::npos);
    CHECK(e.find("the forward op that created it was 'Sqrt'") != std::string::npos);
    CHECK(e.find("[raised in `backward`]") != std::string::npos);
    CHECK(e.find("(anomaly mode is on)") != std::string::npos);
    CHECK(!autograd::is_anomaly_enabled());  // restored after the failed run
  }
  {
    Exploding model;  // without it, the run completes (with non-finite gradients)
    L::Trainer t(quiet_options({.max_epochs = 1, .limit_val_batches = 0}));
    t.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    CHECK(t.global_step() == 2);
  }
  // Lightning runs under set_detect_anomaly(detect_anomaly): a global mode is off inside a run
  // with the default, and back on after.
  autograd::set_detect_anomaly(true);
  {
    struct Probe : Recorder {
      L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
        anomaly_inside = autograd::is_anomaly_enabled();
        return Recorder::training_step(batch, i);
      }
      bool anomaly_inside = true;
    } model;
    L::Trainer t(quiet_options({.max_epochs = 1, .limit_val_batches = 0}));
    t.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    CHECK(!model.anomaly_inside);
  }
  CHECK(autograd::is_anomaly_enabled());
  autograd::set_detect_anomaly(false);
}

TEST_CASE("inference_mode: validation runs without grad either way, training with grad") {
  auto ds = numbered(8);
  for (bool inference : {true, false}) {
    Recorder model;
    L::Trainer t(quiet_options({.max_epochs = 1, .num_sanity_val_steps = 0, .inference_mode = inference}));
    t.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4}));
    CHECK(model.train_grad_enabled);
    REQUIRE(model.val_grad_enabled.size() == 2);
    CHECK(!model.val_grad_enabled[0]);
    CHECK(!model.val_grad_enabled[1]);
    CHECK(!model.val_output_requires_grad);
    CHECK(is_grad_enabled());  // restored after the loop
  }
}

TEST_CASE("LightningCLI: the new options are in the table, in TrainerOptions's order") {
  std::vector<std::string> names;
  for (const auto& spec : L::detail::trainer_option_specs()) names.push_back(spec.name);
  auto pos = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  for (const char* n : {"overfit_batches", "inference_mode", "detect_anomaly", "reload_dataloaders_every_n_epochs"}) {
    CHECK_MESSAGE(pos(n) < static_cast<std::ptrdiff_t>(names.size()), n);
  }
  CHECK(pos("limit_predict_batches") + 1 == pos("overfit_batches"));
  CHECK(pos("deterministic") + 1 == pos("benchmark"));
  CHECK(pos("benchmark") + 1 == pos("inference_mode"));
  CHECK(pos("inference_mode") < pos("detect_anomaly"));
  CHECK(pos("use_distributed_sampler") + 1 == pos("profiler"));
  CHECK(pos("profiler") + 1 == pos("detect_anomaly"));
  CHECK(pos("detect_anomaly") < pos("reload_dataloaders_every_n_epochs"));
  CHECK(pos("reload_dataloaders_every_n_epochs") < pos("default_root_dir"));
  // devices takes Lightning's list form; strategy its names.
  const auto& specs = L::detail::trainer_option_specs();
  const auto& devices = specs[pos("devices")];
  L::TrainerOptions o;
  Value list = Value::list({Value(int64_t{0}), Value(int64_t{1})});
  REQUIRE(devices.check(list).has_value());
  devices.set(o, *devices.check(list));
  CHECK(o.devices == "[0, 1]");
  const auto& strategy = specs[pos("strategy")];
  strategy.set(o, Value(std::string("single_device")));
  CHECK(o.strategy.name() == "single_device");
  CHECK(strategy.get(o).as_string() == "single_device");
  // profiler: null (the default) or a name; a C++ profiler object shows its class.
  const auto& profiler = specs[pos("profiler")];
  CHECK(profiler.get(o).is_none());
  profiler.set(o, Value(std::string("simple")));
  CHECK(profiler.get(o).as_string() == "simple");
  L::TrainerOptions only_profiler;
  profiler.set(only_profiler, Value(std::string("simple")));
  CHECK(L::Trainer(quiet_options(only_profiler)).profiler().enabled());
  CHECK_FALSE(profiler.check(Value(int64_t{1})).has_value());
  o.profiler = L::profilers::SimpleProfiler();
  CHECK(profiler.get(o).as_string() == "SimpleProfiler");
}

TEST_CASE("deterministic and benchmark set the process-wide flags, as Lightning's _set_torch_flags") {
  use_deterministic_algorithms(false);
  set_cudnn_benchmark(false);
  { L::Trainer t(quiet_options({.benchmark = true})); }
  CHECK(cudnn_benchmark());
  CHECK_FALSE(are_deterministic_algorithms_enabled());
  { L::Trainer t(quiet_options({})); }  // None: left as it is
  CHECK(cudnn_benchmark());
  // deterministic=True with benchmark None turns benchmarking off.
  { L::Trainer t(quiet_options({.deterministic = true})); }
  CHECK(are_deterministic_algorithms_enabled());
  CHECK_FALSE(cudnn_benchmark());
  { L::Trainer t(quiet_options({.deterministic = true, .benchmark = true})); }
  CHECK(are_deterministic_algorithms_enabled());
  CHECK(cudnn_benchmark());
  // From a config: null or a bool.
  const auto& specs = L::detail::trainer_option_specs();
  const auto spec = std::find_if(specs.begin(), specs.end(), [](const auto& s) { return s.name == "benchmark"; });
  REQUIRE(spec != specs.end());
  L::TrainerOptions o;
  CHECK(spec->get(o).is_none());
  REQUIRE(spec->check(Value(false)).has_value());
  spec->set(o, Value(false));
  CHECK(o.benchmark == std::optional<bool>(false));
  CHECK_FALSE(spec->check(Value(int64_t{1})).has_value());
  use_deterministic_algorithms(false);
  set_cudnn_benchmark(false);
}

namespace {
// Logs its loss every step (a no-op with a warning under barebones).
class LoggingRecorder : public Recorder {
 public:
  L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
    L::StepOutput out = Recorder::training_step(batch, i);
    log("train_loss", out.loss());
    return out;
  }
};
}  // namespace

TEST_CASE("barebones: everything that costs speed is off, self.log warns once and does nothing") {
  namespace fs = std::filesystem;
  const fs::path root = fs::absolute("barebones_run");
  fs::remove_all(root);
  LoggingRecorder model;
  std::string err;
  L::Trainer trainer({.max_epochs = 2, .barebones = true, .default_root_dir = root.string()});
  const L::TrainerOptions& o = trainer.options();
  CHECK(o.enable_checkpointing == false);
  CHECK(o.enable_progress_bar == false);
  CHECK(o.enable_model_summary == false);
  CHECK(o.log_every_n_steps == 0);
  CHECK(o.num_sanity_val_steps == 0);
  CHECK(trainer.loggers().empty());
  CHECK(trainer.callbacks().empty());
  CHECK(trainer.checkpoint_callback() == nullptr);
  err = fulgur::testing::captured_stderr([&] {
    trainer.fit(model, data::DataLoader(numbered(8), {.batch_size = 4}),
                data::DataLoader(numbered(4), {.batch_size = 2}));
  });
  // Two epochs of 2 batches; no sanity check (validation ran only after each epoch: 2 x 2).
  CHECK(model.train_first_rows.size() == 4);
  CHECK(model.val_first_rows.size() == 4);
  CHECK(trainer.global_step() == 4);
  CHECK(trainer.callback_metrics().empty());
  CHECK(err.find("`Trainer(barebones=True)` started running. The progress bar is disabled") != std::string::npos);
  const std::string warning = "You are trying to `self.log()` but `Trainer(barebones=True)` is configured.";
  CHECK(err.find(warning) != std::string::npos);
  CHECK(err.find(warning, err.find(warning) + 1) == std::string::npos);  // once
  CHECK_FALSE(fs::exists(root));  // no checkpoint, no logger folder
}

TEST_CASE("barebones: asking for a feature it turns off is Lightning's error; false is accepted") {
  auto fails = [](L::TrainerOptions o, const char* message) {
    o.barebones = true;
    CHECK_THROWS_WITH_AS(L::Trainer(std::move(o)), doctest::Contains(message), Error);
  };
  fails({.enable_checkpointing = true}, "`Trainer(barebones=True, enable_checkpointing=True)` was passed. "
                                        "Checkpointing can impact raw speed so it is disabled in barebones mode");
  fails({.logger = true}, "`Trainer(barebones=True, logger=True)` was passed. Logging can impact raw speed");
  fails({.logger = L::loggers::CSVLogger("logs")}, "`Trainer(barebones=True, logger=<a Logger>)` was passed.");
  fails({.logger = std::vector<std::shared_ptr<L::Logger>>{}}, "`Trainer(barebones=True, logger=[])` was passed.");
  fails({.enable_progress_bar = true}, "`Trainer(barebones=True, enable_progress_bar=True)` was passed. The "
                                       "progress bar can impact raw speed");
  fails({.log_every_n_steps = 50}, "`Trainer(barebones=True, log_every_n_steps=50)` was passed.");
  fails({.enable_model_summary = true}, "`Trainer(barebones=True, enable_model_summary=True)` was passed.");
  fails({.num_sanity_val_steps = 2}, "`Trainer(barebones=True, num_sanity_val_steps=2)` was passed. Sanity "
                                     "checking can impact raw speed");
  fails({.fast_dev_run = 1}, "`Trainer(barebones=True, fast_dev_run=1)` was passed. Development run is not meant");
  fails({.detect_anomaly = true}, "`Trainer(barebones=True, detect_anomaly=True)` was passed.");
  fails({.profiler = "simple"}, "`Trainer(barebones=True, profiler='simple')` was passed. Profiling can impact");
  // The values barebones sets anyway are fine to pass.
  L::Trainer ok({.logger = false,
                 .num_sanity_val_steps = 0,
                 .log_every_n_steps = 0,
                 .enable_checkpointing = false,
                 .enable_progress_bar = false,
                 .enable_model_summary = false,
                 .barebones = true});
  CHECK(ok.options().barebones);
}

TEST_CASE("the opt-outs unset are Lightning's defaults; log_every_n_steps=0 never logs") {
  L::Trainer defaults(L::TrainerOptions{});
  CHECK(defaults.options().enable_checkpointing == true);
  CHECK(defaults.options().enable_progress_bar == true);
  CHECK(defaults.options().enable_model_summary == true);
  CHECK(defaults.options().log_every_n_steps == 50);
  CHECK(defaults.options().num_sanity_val_steps == 2);
  REQUIRE(defaults.logger() != nullptr);  // logger None -> True: the TensorBoardLogger
  CHECK(defaults.checkpoint_callback() != nullptr);
  CHECK_THROWS_WITH_AS(L::Trainer(quiet_options({.log_every_n_steps = -1})),
                       doctest::Contains("`log_every_n_steps` must be >= 0 (0: never), got -1"), Error);

  namespace fs = std::filesystem;
  const fs::path logs = fs::absolute("never_logs");
  fs::remove_all(logs);
  LoggingRecorder model;
  L::TrainerOptions o = quiet_options({.max_epochs = 1, .limit_val_batches = 0, .log_every_n_steps = 0});
  o.logger = L::loggers::CSVLogger(logs.string());
  L::Trainer trainer(std::move(o));
  trainer.fit(model, data::DataLoader(numbered(8), {.batch_size = 2}));
  // The step metric never reached the logger (the epoch end's would have no *_epoch key here);
  // the callback metrics still hold it, as Lightning's.
  CHECK(trainer.callback_metrics().count("train_loss") == 1);
  const fs::path csv = logs / "lightning_logs" / "version_0" / "metrics.csv";
  CHECK((!fs::exists(csv) || fulgur::testing::read_file_bytes(csv).find("train_loss") == std::string::npos));
}

namespace {
// Linear(1, 1) fitting y = 2x, with a validation_step that computes nothing.
class Regressor : public L::LightningModule {
 public:
  Regressor() {
    layer = register_module("layer", nn::Linear(1, 1));
    NoGradGuard no_grad;
    layer->weight.fill_(0.5);
    layer->bias.zero_();
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss((*layer)(x), y.mul(2.0));
  }
  void validation_step(const L::Batch&, int64_t) override {}
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
  std::shared_ptr<nn::Linear> layer;
};
}  // namespace

TEST_CASE("validation inside an accumulation window keeps the window's gradients") {
  // Lightning calls on_validation_model_zero_grad (which zeroes the gradients) only when no
  // window is open; validating after every batch must not change what accumulation computes.
  auto train = [](bool validate_every_batch) {
    Regressor model;
    L::TrainerOptions o = quiet_options({.max_epochs = 1, .accumulate_grad_batches = 2});
    if (validate_every_batch) o.val_check_interval = 1;
    else o.limit_val_batches = 0;
    L::Trainer trainer(std::move(o));
    trainer.fit(model, data::DataLoader(numbered(8), {.batch_size = 2}),
                data::DataLoader(numbered(2), {.batch_size = 2}));
    CHECK(trainer.global_step() == 2);
    return std::pair(model.layer->weight.item<double>(), model.layer->bias.item<double>());
  };
  const auto plain = train(false);
  const auto validated = train(true);
  CHECK(plain.first != doctest::Approx(0.5));  // it trained
  CHECK(validated.first == plain.first);
  CHECK(validated.second == plain.second);
}
