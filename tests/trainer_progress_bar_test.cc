// L::callbacks::ProgressBar and its formatter (trainer/callbacks/tqdm_format.h).
//
// The formatter's expected strings are tqdm 4.70.1's format_meter / format_interval /
// format_num outputs for Lightning 2.4's TQDMProgressBar.BAR_FORMAT, with Lightning's
// Tqdm.format_num padding (floats padded with zeros to 5 characters), obtained by running tqdm
// on the same arguments. The fit tests capture the bar's plain-line output (not a terminal)
// with a constant clock, so every line is exact: "[00:00<?, ?it/s" while no time passes.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace C = fulgur::lightning::callbacks;
namespace T = fulgur::lightning::callbacks::tqdm_format;

TEST_CASE("progress bar format: tqdm's meter with Lightning's BAR_FORMAT") {
  CHECK(T::meter({"Epoch 3", 120, 267, 2.5, "v_num=0, train_loss=0.312"}) ==
        "Epoch 3:  45%|████▍     | 120/267 [00:02<00:03, 48.00it/s, v_num=0, train_loss=0.312]");
  // dynamic_ncols: the bar takes what the text leaves; too narrow, the line is cut at ncols.
  CHECK(T::meter({"Epoch 3", 120, 267, 2.5, "v_num=0, train_loss=0.312"}, 120) ==
        "Epoch 3:  45%|████████████████████▏                        | 120/267 [00:02<00:03, 48.00it/s, v_num=0, "
        "train_loss=0.312]");
  CHECK(T::meter({"Epoch 3", 120, 267, 2.5, "v_num=0, train_loss=0.312"}, 60) ==
        "Epoch 3:  45%|▍| 120/267 [00:02<00:03, 48.00it/s, v_num=0, t");
  CHECK(T::meter({"Validation DataLoader 0", 0, 5, 0, ""}) ==
        "Validation DataLoader 0:   0%|          | 0/5 [00:00<?, ?it/s]");
  CHECK(T::meter({"Validation DataLoader 0", 5, 5, 0, ""}) ==
        "Validation DataLoader 0: 100%|██████████| 5/5 [00:00<?, ?it/s]");
  CHECK(T::meter({"Sanity Checking DataLoader 0", 1, 2, 0.8, ""}) ==
        "Sanity Checking DataLoader 0:  50%|█████     | 1/2 [00:00<00:00,  1.25it/s]");
  CHECK(T::meter({"Epoch 0", 3, 10, 3725.0, ""}) == "Epoch 0:  30%|███       | 3/10 [1:02:05<2:24:51,  0.00it/s]");
  CHECK(T::meter({"Epoch 0", 1, 3, 4.0, ""}) == "Epoch 0:  33%|███▎      | 1/3 [00:04<00:08,  0.25it/s]");
  // Percentages round half to even, as Python's format: 12.5 -> 12, 62.5 -> 62.
  CHECK(T::meter({"Epoch 0", 1, 8, 0, ""}) == "Epoch 0:  12%|█▎        | 1/8 [00:00<?, ?it/s]");
  CHECK(T::meter({"Epoch 0", 5, 8, 0, ""}) == "Epoch 0:  62%|██████▎   | 5/8 [00:00<?, ?it/s]");
  CHECK(T::meter({"", 9, 10, 0, ""}) == " 90%|█████████ | 9/10 [00:00<?, ?it/s]");
  // Unknown total.
  CHECK(T::meter({"Testing DataLoader 0", 7, 0, 0, ""}) == "Testing DataLoader 0: |          | 7/? [00:00<?, ?it/s]");
  CHECK(T::meter({"Testing DataLoader 0", 7, 0, 2.0, ""}, 50) == "Testing DataLoader 0: | | 7/? [00:02<00:00,  3.50i");
  CHECK(T::meter({"", 7, 0, 2.0, ""}) == "|          | 7/? [00:02<00:00,  3.50it/s]");
}

TEST_CASE("progress bar format: intervals, bars, numbers and postfix") {
  CHECK(T::interval(0) == "00:00");
  CHECK(T::interval(59.9) == "00:59");
  CHECK(T::interval(60) == "01:00");
  CHECK(T::interval(3599) == "59:59");
  CHECK(T::interval(3600) == "1:00:00");
  CHECK(T::interval(172805) == "48:00:05");
  CHECK(T::bar(0.0, 10) == "          ");
  CHECK(T::bar(0.25, 10) == "██▌       ");
  CHECK(T::bar(1.0, 10) == "██████████");
  CHECK(T::bar(1.5, 4) == "████");  // clamped
  const std::vector<std::pair<Value, std::string>> numbers = {
      {0.312, "0.312"}, {0.31234, "0.312"},   {1.5, "1.500"},    {2.0, "2.000"},
      {12.3456, "12.30"}, {1234.5, "1234.5"}, {0.0001234, "0.000123"}, {-0.5, "-0.50"},
      {1e-5, "1e-5"},    {123456789.0, "1.23e+8"}, {0.1, "0.100"}, {100.0, "100.0"},
      {1e20, "1e+20"},   {std::numeric_limits<double>::infinity(), "inf.0"},
      {Value(int64_t{0}), "0"}, {Value(int64_t{12345}), "12345"}, {Value(int64_t{3}), "3"},
      {Value("1234"), "1234"}};
  for (const auto& [v, expected] : numbers) {
    CAPTURE(expected);
    CHECK(T::number(v) == expected);
  }
  CHECK(T::postfix({{"v_num", int64_t{0}}, {"loss", 0.5}, {"name", " abc "}}) == "v_num=0, loss=0.500, name=abc");
  CHECK(T::postfix({}).empty());
}

namespace {

// Logs scripted values so that the bars' postfix is exact: train_loss = 1 + 0.25 * batch_idx
// (on_step), val_acc = 0.75 (on_epoch).
class Scripted : public L::LightningModule {
 public:
  Scripted() { layer = register_module("layer", nn::Linear(3, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override {
    auto [x, y] = batch.unpack<2>();
    log("train_loss", 1.0 + 0.25 * static_cast<double>(batch_idx), {.prog_bar = true});
    return F::mse_loss(forward(x), y);
  }
  void validation_step(const L::Batch&, int64_t) override { log("val_acc", 0.75, {.prog_bar = true}); }
  void test_step(const L::Batch&, int64_t) override {}
  Tensor predict_step(const L::Batch& batch, int64_t, int64_t) override { return forward(batch.tensor(0)); }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
  std::shared_ptr<nn::Linear> layer;
};

class FakeLogger : public L::Logger {
 public:
  explicit FakeLogger(Value version) : version_(std::move(version)) {}
  std::string name() const override { return "fake"; }
  Value version() const override { return version_; }
  void log_metrics(const std::map<std::string, double>&, std::optional<int64_t>) override {}
  void log_hyperparams(const Value&) override {}

 private:
  Value version_;
};

std::string temp_dir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : std::filesystem::temp_directory_path().string();
}

std::shared_ptr<data::TensorDataset> dataset(int64_t n) {
  manual_seed(0);
  return std::make_shared<data::TensorDataset>(randn({n, 3}), randn({n, 1}));
}

L::TrainerOptions options(std::vector<std::shared_ptr<L::Callback>> callbacks, L::LoggerOption logger) {
  return {.callbacks = std::move(callbacks), .max_epochs = 2, .logger = std::move(logger),
          .enable_checkpointing = false, .enable_model_summary = false, .default_root_dir = temp_dir()};
}

std::string lines(const std::vector<std::string>& ls) {
  std::string out;
  for (const std::string& l : ls) out += l + "\n";
  return out;
}

// A clock that never moves: elapsed 0, no rate.
double frozen() { return 100.0; }

}  // namespace

TEST_CASE("progress bar: plain lines of a fit (sanity check, epochs, validation), v_num and metrics") {
  auto train = dataset(8);
  auto val = dataset(4);
  std::ostringstream out;
  auto bar = std::make_shared<C::ProgressBar>(C::ProgressBarOptions{.stream = &out, .terminal = false, .clock = frozen});
  CHECK_FALSE(bar->terminal());
  Scripted model;
  L::Trainer trainer(options({bar}, std::make_shared<FakeLogger>(int64_t{0})));
  trainer.fit(model, data::DataLoader(train, {.batch_size = 2}), data::DataLoader(val, {.batch_size = 2}));
  // 4 train batches: a line per batch (about ten per epoch, at most), the epoch's last line
  // once the epoch's metrics are in (after its validation); val_acc appears after the first
  // validation (the sanity check's logs are dropped, as in Lightning).
  CHECK(out.str() == lines({
                         "Sanity Checking DataLoader 0:  50%|█████     | 1/2 [00:00<?, ?it/s]",
                         "Sanity Checking DataLoader 0: 100%|██████████| 2/2 [00:00<?, ?it/s]",
                         "Epoch 0:  25%|██▌       | 1/4 [00:00<?, ?it/s, v_num=0, train_loss=1.000]",
                         "Epoch 0:  50%|█████     | 2/4 [00:00<?, ?it/s, v_num=0, train_loss=1.250]",
                         "Epoch 0:  75%|███████▌  | 3/4 [00:00<?, ?it/s, v_num=0, train_loss=1.500]",
                         "Validation DataLoader 0:  50%|█████     | 1/2 [00:00<?, ?it/s]",
                         "Validation DataLoader 0: 100%|██████████| 2/2 [00:00<?, ?it/s]",
                         "Epoch 0: 100%|██████████| 4/4 [00:00<?, ?it/s, v_num=0, train_loss=1.750, val_acc=0.750]",
                         "Epoch 1:  25%|██▌       | 1/4 [00:00<?, ?it/s, v_num=0, train_loss=1.000, val_acc=0.750]",
                         "Epoch 1:  50%|█████     | 2/4 [00:00<?, ?it/s, v_num=0, train_loss=1.250, val_acc=0.750]",
                         "Epoch 1:  75%|███████▌  | 3/4 [00:00<?, ?it/s, v_num=0, train_loss=1.500, val_acc=0.750]",
                         "Validation DataLoader 0:  50%|█████     | 1/2 [00:00<?, ?it/s]",
                         "Validation DataLoader 0: 100%|██████████| 2/2 [00:00<?, ?it/s]",
                         "Epoch 1: 100%|██████████| 4/4 [00:00<?, ?it/s, v_num=0, train_loss=1.750, val_acc=0.750]",
                     }));
  // No state, so no entry in checkpoints (Lightning skips empty callback states).
  CHECK(trainer.dump_checkpoint().at("callbacks").find("TQDMProgressBar") == nullptr);
}

TEST_CASE("progress bar: refresh_rate and the plain-line interval; test and predict bars") {
  auto train = dataset(40);
  std::ostringstream out;
  auto bar = std::make_shared<C::ProgressBar>(
      C::ProgressBarOptions{.refresh_rate = 3, .stream = &out, .terminal = false, .clock = frozen});
  Scripted model;
  L::TrainerOptions o = options({bar}, false);
  o.max_epochs = 1;
  o.limit_val_batches = 0;
  L::Trainer trainer(o);
  // 20 batches: about ten lines means every 2, rounded up to a multiple of refresh_rate: 3, 6, ... 18,
  // then the epoch's line. No logger: no v_num.
  trainer.fit(model, data::DataLoader(train, {.batch_size = 2}));
  std::vector<std::string> expected;
  const std::vector<std::string> bars = {"█▌        ", "███       ", "████▌     ", "██████    ", "███████▌  ",
                                         "█████████ "};
  const std::vector<std::string> pct = {" 15%", " 30%", " 45%", " 60%", " 75%", " 90%"};
  const std::vector<std::string> loss = {"1.500", "2.250", "3.000", "3.750", "4.500", "5.250"};
  for (int i = 0; i < 6; ++i) {
    expected.push_back("Epoch 0: " + pct[i] + "|" + bars[i] + "| " + std::to_string(3 * (i + 1)) +
                       "/20 [00:00<?, ?it/s, train_loss=" + loss[i] + "]");
  }
  expected.push_back("Epoch 0: 100%|██████████| 20/20 [00:00<?, ?it/s, train_loss=5.750]");
  CHECK(out.str() == lines(expected));
  CHECK(bar->refresh_rate() == 3);

  out.str("");
  auto small = dataset(6);
  trainer.test(model, data::DataLoader(small, {.batch_size = 2}), {.verbose = false});
  CHECK(trainer.num_test_batches() == std::vector<int64_t>{3});
  trainer.predict(model, data::DataLoader(small, {.batch_size = 3}));
  CHECK(trainer.num_predict_batches() == std::vector<int64_t>{2});
  // refresh_rate 3 over 3 and 2 batches: the 3rd batch, and each bar's last one.
  CHECK(out.str() == lines({
                         "Testing DataLoader 0: 100%|██████████| 3/3 [00:00<?, ?it/s]",
                         "Predicting DataLoader 0: 100%|██████████| 2/2 [00:00<?, ?it/s]",
                     }));
}

TEST_CASE("progress bar: a terminal gets in-place redraws") {
  auto small = dataset(4);
  std::ostringstream out;
  auto bar = std::make_shared<C::ProgressBar>(C::ProgressBarOptions{.stream = &out, .terminal = true, .clock = frozen});
  Scripted model;
  L::Trainer trainer(options({bar}, false));
  trainer.predict(model, data::DataLoader(small, {.batch_size = 2}));
  // tqdm: drawn at reset (0/2), at each batch, and once more when closed (leave=True), then a
  // newline; each draw starts with \r.
  const std::string d = "Predicting DataLoader 0: ";
  CHECK(out.str() == "\r" + d + "  0%|          | 0/2 [00:00<?, ?it/s]" +  //
                         "\r" + d + " 50%|█████     | 1/2 [00:00<?, ?it/s]" +  //
                         "\r" + d + "100%|██████████| 2/2 [00:00<?, ?it/s]" +  //
                         "\r" + d + "100%|██████████| 2/2 [00:00<?, ?it/s]\n");

  // In fit, the validation bar is drawn one line below the train bar and cleared afterwards.
  out.str("");
  L::TrainerOptions o = options({bar}, false);
  o.max_epochs = 1;
  o.num_sanity_val_steps = 0;
  L::Trainer fit_trainer(o);
  fit_trainer.fit(model, data::DataLoader(small, {.batch_size = 2}), data::DataLoader(small, {.batch_size = 4}));
  const std::string s = out.str();
  CHECK(s.find("\n\rValidation DataLoader 0:   0%|          | 0/1 [00:00<?, ?it/s]\x1b[A") != std::string::npos);
  CHECK(s.find("\rEpoch 0: 100%|██████████| 2/2 [00:00<?, ?it/s, train_loss=1.250, val_acc=0.750]\n") !=
        std::string::npos);
  CHECK(s.back() == '\n');
}

namespace {
struct NoVersionBar : C::ProgressBar {
  using C::ProgressBar::ProgressBar;
  C::ProgressBarMetrics get_metrics(L::Trainer& t, L::LightningModule& m) override {
    C::ProgressBarMetrics items = C::ProgressBar::get_metrics(t, m);
    std::erase_if(items, [](const auto& item) { return item.first == "v_num"; });
    return items;
  }
};
}  // namespace

TEST_CASE("progress bar: get_metrics (v_num of one or several loggers) and overriding it") {
  Scripted model;
  C::ProgressBar bar;
  {
    L::Trainer t(options({}, std::make_shared<FakeLogger>(int64_t{7})));
    const auto m = bar.get_metrics(t, model);
    REQUIRE(m.size() == 1);
    CHECK(m[0].first == "v_num");
    CHECK(m[0].second.as_int() == 7);
  }
  {  // a string version shows its last 4 characters
    L::Trainer t(options({}, std::make_shared<FakeLogger>(Value("version_12345"))));
    CHECK(bar.get_metrics(t, model)[0].second.as_string() == "2345");
  }
  {  // several loggers: distinct versions joined by "_"
    std::vector<std::shared_ptr<L::Logger>> loggers = {std::make_shared<FakeLogger>(int64_t{0}),
                                                       std::make_shared<FakeLogger>(int64_t{0}),
                                                       std::make_shared<FakeLogger>(int64_t{1})};
    L::Trainer t(options({}, loggers));
    CHECK(bar.get_metrics(t, model)[0].second.as_string() == "0_1");
  }
  {  // no logger, or an empty version: no v_num
    L::Trainer t(options({}, false));
    CHECK(bar.get_metrics(t, model).empty());
    L::Trainer t2(options({}, std::make_shared<FakeLogger>(Value(""))));
    CHECK(bar.get_metrics(t2, model).empty());
  }
  auto train = dataset(2);
  std::ostringstream out;
  auto custom =
      std::make_shared<NoVersionBar>(C::ProgressBarOptions{.stream = &out, .terminal = false, .clock = frozen});
  L::TrainerOptions o = options({custom}, std::make_shared<FakeLogger>(int64_t{0}));
  o.max_epochs = 1;
  L::Trainer trainer(o);
  trainer.fit(model, data::DataLoader(train, {.batch_size = 2}));
  CHECK(out.str() == lines({"Epoch 0: 100%|██████████| 1/1 [00:00<?, ?it/s, train_loss=1.000]"}));
}

TEST_CASE("progress bar: enable_progress_bar adds the default, false silences it, misconfigurations fail") {
  auto train = dataset(4);
  Scripted model;
  std::ostringstream captured;
  std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
  {
    L::TrainerOptions o = options({}, false);
    o.max_epochs = 1;
    o.enable_progress_bar = false;
    L::Trainer silent(o);
    silent.fit(model, data::DataLoader(train, {.batch_size = 2}));
    o.enable_progress_bar = true;
    L::Trainer loud(o);
    int bars = 0;
    for (const auto& c : loud.options().callbacks) bars += dynamic_cast<C::ProgressBar*>(c.get()) ? 1 : 0;
    CHECK(bars == 1);
    loud.fit(model, data::DataLoader(train, {.batch_size = 2}));
  }
  std::cout.rdbuf(old);
  // Only the second fit wrote, to std::cout (real clock). Under `bazel test` stdout is not a
  // terminal: plain lines; run by hand in a terminal, the bar redraws in place instead.
  const std::string s = captured.str();
  if (isatty(STDOUT_FILENO) == 0) {
    CHECK(s.rfind("Epoch 0:  50%|█████     | 1/2 [", 0) == 0);
    CHECK(s.find("Epoch 0: 100%|██████████| 2/2 [") != std::string::npos);
    CHECK(s.find("train_loss=1.250]\n") != std::string::npos);
  } else {
    CHECK(s.rfind("\rEpoch 0:   0%|", 0) == 0);
    CHECK(s.find("train_loss=1.250]\n") != std::string::npos);
  }

  auto a = std::make_shared<C::ProgressBar>();
  auto b = std::make_shared<C::ProgressBar>();
  CHECK_THROWS_WITH_AS(L::Trainer(options({a, b}, false)),
                       doctest::Contains("You added multiple progress bar callbacks to the Trainer, but currently "
                                         "only one progress bar is supported."),
                       Error);
  L::TrainerOptions off = options({a}, false);
  off.enable_progress_bar = false;
  CHECK_THROWS_WITH_AS(L::Trainer{off},
                       doctest::Contains("Trainer was configured with `enable_progress_bar=False` but found "
                                         "`ProgressBar` in callbacks list."),
                       Error);
  CHECK_THROWS_AS(C::ProgressBar(C::ProgressBarOptions{.refresh_rate = -1}), Error);
  // refresh_rate 0 disables the display.
  C::ProgressBar zero(C::ProgressBarOptions{.refresh_rate = 0});
  CHECK(zero.is_disabled());
  CHECK(zero.state_key() == "TQDMProgressBar");
}

TEST_CASE("progress bar: Lightning's order of the default callbacks") {
  // _CallbackConnector: the user's callbacks, ProgressBar, ModelSummary; ModelCheckpoint last.
  struct User : L::Callback {};
  auto train = dataset(2);
  Scripted model;
  L::Trainer trainer({.callbacks = {std::make_shared<User>()},
                      .max_epochs = 1,
                      .logger = false,
                      .default_root_dir = temp_dir() + "/default_order"});
  trainer.fit(model, data::DataLoader(train, {.batch_size = 2}));
  const auto& cbs = trainer.callbacks();
  REQUIRE(cbs.size() == 4);
  CHECK(dynamic_cast<User*>(cbs[0].get()) != nullptr);
  CHECK(dynamic_cast<C::ProgressBar*>(cbs[1].get()) != nullptr);
  CHECK(dynamic_cast<C::ModelSummary*>(cbs[2].get()) != nullptr);
  CHECK(dynamic_cast<C::ModelCheckpoint*>(cbs[3].get()) != nullptr);
}
