// L::profilers::SimpleProfiler through the Trainer against Lightning's: the same module, data
// and options as tools/gen_profiler_golden.py ran with pytorch-lightning 2.2.5 must give report
// files with the same actions, the same number of calls each and the same table layout (the
// header line fixes the column widths, which follow the longest action name). Durations are
// this machine's, so only their consistency is checked (rows sorted by share, totals).
#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
using fulgur::testing::fresh_test_dir;
using fulgur::testing::read_file_bytes;
namespace L = fulgur::lightning;

namespace {

struct GoldenReport {
  std::string scenario, stage, header;
  std::vector<std::pair<std::string, int64_t>> rows;
};
const std::vector<GoldenReport> kGolden = {
#include "tests/golden/profiler_golden.inc"
};

std::map<std::string, int64_t> golden_calls(const std::string& scenario, const std::string& stage,
                                            std::string* header) {
  for (const GoldenReport& g : kGolden) {
    if (g.scenario != scenario || g.stage != stage) continue;
    *header = g.header;
    return {g.rows.begin(), g.rows.end()};
  }
  FAIL("no golden report for ", scenario, "/", stage);
  return {};
}

std::shared_ptr<data::TensorDataset> dataset(int64_t n) {
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{randn({n, 3}), randn({n, 1})});
}

// The generator's LitProf: Linear(3, 1), MSE, SGD (+ StepLR in automatic optimization).
class LitProf : public L::LightningModule {
 public:
  explicit LitProf(bool manual = false) {
    automatic_optimization(!manual);
    layer_ = register_module("layer", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer_)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    Tensor loss = F::mse_loss(forward(batch.tensor(0)), batch.tensor(1));
    log("loss", loss);
    if (!automatic_optimization()) {
      L::LightningOptimizer opt = optimizer(0);
      opt.zero_grad();
      manual_backward(loss);
      opt.step();
    }
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    log("val_loss", F::mse_loss(forward(batch.tensor(0)), batch.tensor(1)));
  }
  void test_step(const L::Batch& batch, int64_t) override {
    log("test_loss", F::mse_loss(forward(batch.tensor(0)), batch.tensor(1)));
  }
  Tensor predict_step(const L::Batch& batch, int64_t) override { return forward(batch.tensor(0)); }
  L::OptimizerConfig configure_optimizers() override {
    auto opt = std::make_shared<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.1});
    if (!automatic_optimization()) return opt;
    return {opt, {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1})}};
  }

 private:
  std::shared_ptr<nn::Linear> layer_;
};

class ProfData : public L::LightningDataModule {
 public:
  L::Loaders train_dataloader() override { return data::DataLoader(dataset(8), {.batch_size = 2}); }
  L::Loaders val_dataloader() override { return data::DataLoader(dataset(8), {.batch_size = 4}); }
  L::Loaders test_dataloader() override { return data::DataLoader(dataset(6), {.batch_size = 2}); }
  L::Loaders predict_dataloader() override { return data::DataLoader(dataset(6), {.batch_size = 3}); }
};

struct Report {
  std::string header;
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, int64_t>> rows;  // in the report's order
  std::vector<double> percentages;
  int64_t total_calls = -1;
};

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line.substr(1));
  for (std::string cell; std::getline(ss, cell, '|');) {
    const size_t b = cell.find_first_not_of(" \t"), e = cell.find_last_not_of(" \t");
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return cells;
}

Report read_report(const std::filesystem::path& path) {
  Report r;
  std::stringstream ss(read_file_bytes(path));
  for (std::string line; std::getline(ss, line);) {
    r.lines.push_back(line);
    if (line.empty() || line[0] != '|') continue;
    const std::vector<std::string> cells = cells_of(line);
    REQUIRE(cells.size() == 5);
    if (cells[0] == "Action") {
      r.header = line;
    } else if (cells[0] == "Total") {
      r.total_calls = std::stoll(cells[2]);
    } else {
      r.rows.emplace_back(cells[0], std::stoll(cells[2]));
      r.percentages.push_back(std::stod(cells[4]));
    }
  }
  return r;
}

// Our report against Lightning's: same actions and calls, same header; ours is sorted by share
// and its Total row adds up. `extra` holds actions Lightning 2.5 has and 2.2.5 had not.
void check_report(const std::filesystem::path& dir, const std::string& scenario, const std::string& stage,
                  const std::map<std::string, int64_t>& extra = {}) {
  CAPTURE(scenario);
  CAPTURE(stage);
  std::string golden_header;
  std::map<std::string, int64_t> want = golden_calls(scenario, stage, &golden_header);
  for (const auto& [action, calls] : extra) want[action] = calls;
  const Report got = read_report(dir / (stage + "-perf.txt"));
  std::string upper = stage;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  REQUIRE(!got.lines.empty());
  CHECK(got.lines[0] == upper + " Profiler Report");
  const std::map<std::string, int64_t> got_calls(got.rows.begin(), got.rows.end());
  CHECK(got_calls.size() == got.rows.size());  // each action once
  for (const auto& [action, calls] : want) {
    const auto it = got_calls.find(action);
    CHECK_MESSAGE(it != got_calls.end(), "missing action ", action);
    if (it != got_calls.end()) CHECK_MESSAGE(it->second == calls, action);
  }
  for (const auto& [action, calls] : got_calls) CHECK_MESSAGE(want.count(action) == 1, "extra action ", action);
  CHECK(got.header == golden_header);
  int64_t sum = 0;
  for (const auto& [action, calls] : got.rows) sum += calls;
  CHECK(got.total_calls == sum);
  CHECK(std::is_sorted(got.percentages.rbegin(), got.percentages.rend()));
  // The rule lines are as long as the header with its tabs expanded (Lightning's expandtabs()).
  const std::string rule(got.lines[2].size(), '-');
  CHECK(got.lines[2] == rule);
  // (Lightning's header string starts with the line separator, which len() counts.)
  CHECK(got.lines[2].size() == 1 + [&] {
    size_t col = 0;
    for (const char c : got.header) col = c == '\t' ? col + 8 - col % 8 : col + 1;
    return col;
  }());
}

}  // namespace

TEST_CASE("SimpleProfiler: fit then validate report Lightning's actions and calls") {
  const std::string dir = fresh_test_dir("profiler_plain");
  L::Trainer trainer({.max_epochs = 2,
                      .logger = false,
                      .enable_checkpointing = false,
                      .enable_progress_bar = false,
                      .enable_model_summary = false,
                      .profiler = L::profilers::SimpleProfiler({.dirpath = dir, .filename = "perf"})});
  LitProf model;
  trainer.fit(model, data::DataLoader(dataset(8), {.batch_size = 2}), data::DataLoader(dataset(8), {.batch_size = 4}));
  trainer.validate(model, data::DataLoader(dataset(8), {.batch_size = 4}), {.verbose = false});
  check_report(dir, "plain", "fit");
  // The durations accumulate: validate's report holds the fit's actions too, as Lightning's.
  check_report(dir, "plain", "validate");
}

TEST_CASE("SimpleProfiler: callbacks, a datamodule, accumulation and a scheduler through fit, test, predict") {
  const std::string dir = fresh_test_dir("profiler_full");
  L::Trainer trainer(
      {.callbacks = {std::make_shared<L::callbacks::ModelCheckpoint>(L::callbacks::ModelCheckpointOptions{
                         .dirpath = dir + "/ckpt", .monitor = "val_loss"}),
                     std::make_shared<L::callbacks::EarlyStopping>(
                         L::callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = 5})},
       .max_epochs = 2,
       .logger = false,
       .accumulate_grad_batches = 2,
       .profiler = L::profilers::SimpleProfiler({.dirpath = dir, .filename = "perf"}),
       .default_root_dir = dir});
  LitProf model;
  ProfData data;
  trainer.fit(model, data);
  trainer.test(model, data, {.verbose = false});
  trainer.predict(model, data);
  // Lightning 2.5 times Trainer.save_checkpoint (2.2.5 did not): one per epoch here.
  const std::map<std::string, int64_t> saves = {{"save_checkpoint", 2}};
  check_report(dir, "full", "fit", saves);
  check_report(dir, "full", "test", saves);
  check_report(dir, "full", "predict", saves);
}

TEST_CASE("SimpleProfiler: manual optimization times each optimizer step") {
  const std::string dir = fresh_test_dir("profiler_manual");
  L::Trainer trainer({.max_epochs = 1,
                      .logger = false,
                      .limit_val_batches = 0,
                      .enable_checkpointing = false,
                      .enable_progress_bar = false,
                      .enable_model_summary = false,
                      .profiler = L::profilers::SimpleProfiler({.dirpath = dir, .filename = "perf"})});
  LitProf model(/*manual=*/true);
  trainer.fit(model, data::DataLoader(dataset(8), {.batch_size = 2}));
  check_report(dir, "manual", "fit");
}

TEST_CASE("SimpleProfiler: start/stop rules, durations, the short table, file names") {
  L::profilers::SimpleProfiler p({.extended = false});
  p.start("a");
  CHECK_THROWS_WITH_AS(p.start("a"), doctest::Contains("Attempted to start a which has already started."), Error);
  p.stop("a");
  CHECK_THROWS_WITH_AS(p.stop("a"), doctest::Contains("Attempting to stop recording an action (a) which was never "
                                                      "started."),
                       Error);
  {
    const auto scope = p.profile("longer action");
  }
  try {
    const auto scope = p.profile("b");
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  // Each action recorded in order of its first stop; the scope stopped "b" while unwinding.
  REQUIRE(p.recorded_durations().size() == 3);
  CHECK(p.recorded_durations()[0].first == "a");
  CHECK(p.recorded_durations()[1].first == "longer action");
  CHECK(p.recorded_durations()[2].first == "b");
  for (const auto& [action, durations] : p.recorded_durations()) {
    REQUIRE(durations.size() == 1);
    CHECK(durations[0] >= 0);
    CHECK(durations[0] < 10);
  }
  // extended=false: Action, mean, total (sorted by mean); no stage before setup.
  const std::string report = p.summary();
  CHECK(report.rfind("Profiler Report\n", 0) == 0);
  CHECK(report.find("|  Action       \t|  Mean duration (s)\t|  Total time (s) \t|") != std::string::npos);
  CHECK(report.find("Num calls") == std::string::npos);
  CHECK(report.find("|  longer action\t|  ") != std::string::npos);
  CHECK(report.find("|  a            \t|  ") != std::string::npos);

  // Lightning's _prepare_filename: stage, filename, local rank (several processes only).
  L::profilers::SimpleProfiler named({.dirpath = "d", .filename = "perf"});
  CHECK(named.report_filename() == "perf.txt");
  named.setup("fit", std::nullopt, "logs");
  CHECK(named.report_filename() == "fit-perf.txt");
  CHECK(named.dirpath() == "d");  // given: the log_dir does not replace it
  named.setup("test", 1, "logs");
  CHECK(named.report_filename() == "test-perf-1.txt");
  L::profilers::SimpleProfiler in_log_dir({.filename = "perf"});
  in_log_dir.setup("fit", std::nullopt, "logs/version_0");
  CHECK(in_log_dir.dirpath() == "logs/version_0");
  // An empty profiler reports its title only.
  L::profilers::SimpleProfiler empty;
  empty.setup("validate", std::nullopt, "");
  CHECK(empty.summary() == "VALIDATE Profiler Report\n\n");
}

TEST_CASE("Trainer(profiler=...): names, the default, the log_dir, appending, errors") {
  const std::string dir = fresh_test_dir("profiler_option");
  auto fit_once = [&](L::ProfilerOption profiler) {
    L::Trainer trainer({.max_epochs = 1,
                        .logger = L::loggers::CSVLogger(dir + "/logs"),
                        .limit_val_batches = 0,
                        .enable_checkpointing = false,
                        .enable_progress_bar = false,
                        .enable_model_summary = false,
                        .profiler = std::move(profiler)});
    LitProf model;
    trainer.fit(model, data::DataLoader(dataset(4), {.batch_size = 2}));
    return trainer.profiler().enabled();
  };
  // The default records nothing and writes nothing.
  CHECK_FALSE(fit_once({}));
  // "simple" (any case) prints its report: no filename, so no file.
  CHECK(fit_once("Simple"));
  // A filename without dirpath: the Trainer's log_dir (the CSV logger's version folder), and a
  // second fit appends its report to the same file, as Lightning's "a" mode does.
  auto shared = std::make_shared<L::profilers::SimpleProfiler>(L::profilers::SimpleProfilerOptions{.filename = "p"});
  fit_once(shared);
  const std::filesystem::path report = std::filesystem::path(dir) / "logs/lightning_logs/version_2/fit-p.txt";
  REQUIRE(std::filesystem::exists(report));
  CHECK(shared->dirpath() == (std::filesystem::path(dir) / "logs/lightning_logs/version_2").string());
  const std::string first = read_file_bytes(report);
  L::Trainer again({.max_epochs = 1,
                    .logger = false,
                    .limit_val_batches = 0,
                    .enable_checkpointing = false,
                    .enable_progress_bar = false,
                    .enable_model_summary = false,
                    .profiler = shared});
  LitProf model;
  again.fit(model, data::DataLoader(dataset(4), {.batch_size = 2}));
  const std::string both = read_file_bytes(report);
  CHECK(both.rfind(first, 0) == 0);
  CHECK(both.size() > first.size());
  CHECK(both.substr(first.size()).rfind("FIT Profiler Report\n", 0) == 0);
  // No stray files next to the report (it is replaced atomically).
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(report.parent_path())) {
    files += e.path().extension() == ".txt";
  }
  CHECK(files == 1);

  CHECK_THROWS_WITH_AS(L::Trainer({.profiler = "fast"}),
                       doctest::Contains("it can only be one of ['simple', 'advanced', 'pytorch', 'xla'], got 'fast'"),
                       Error);
  CHECK_THROWS_WITH_AS(L::Trainer({.profiler = "pytorch"}), doctest::Contains("Python-only profiler"), Error);
  // A failed run writes no report.
  const std::string failed_dir = fresh_test_dir("profiler_failed");
  L::Trainer failing({.max_epochs = 1,
                      .logger = false,
                      .enable_checkpointing = false,
                      .enable_progress_bar = false,
                      .enable_model_summary = false,
                      .profiler = L::profilers::SimpleProfiler({.dirpath = failed_dir, .filename = "perf"})});
  LitProf broken;
  CHECK_THROWS(failing.fit(broken, data::DataLoader(std::make_shared<data::TensorDataset>(
                                                        std::vector<Tensor>{randn({4, 5}), randn({4, 1})}),
                                                    {.batch_size = 2})));
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(failed_dir) / "fit-perf.txt"));
}
