// How runs end badly (Lightning 2.x's _call_and_handle_interrupt): an exception in a hook
// reaches the caller (its type kept; a fulgur::Error names the hook) after on_exception
// (callbacks, module, datamodule) and loggers finalized "failed", without teardown hooks; a
// SIGINT stops the run after the current batch and throws L::KeyboardInterrupt, a second one
// kills the process; a fit SIGKILLed mid-training resumes from last.ckpt to the same
// parameters, bit for bit, and leaves no corrupt or temporary files.
//
// The SIGINT-twice and SIGKILL children are this test binary run again (posix_spawn of
// /proc/self/exe with a doctest filter and an environment variable), not a fork: the parent
// has OpenMP threads, and a forked child may not use them.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

extern char** environ;

using namespace fulgur;
namespace L = fulgur::lightning;
namespace fs = std::filesystem;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

std::shared_ptr<data::TensorDataset> dataset() { return fulgur::testing::regression_data(24); }

// Records hooks into a shared list; raises in training_step at `fail_at` (std::out_of_range,
// or fulgur::Error), or raise(SIGINT) there `sigints` times.
class Model : public L::LightningModule {
 public:
  explicit Model(std::vector<std::string>* record = nullptr) : record(record) {
    net = register_module("net", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override {
    ++steps;
    if (batch_idx == fail_at) {
      if (failure == "out_of_range") throw std::out_of_range("index 9 is out of range");
      if (failure == "fulgur") FULGUR_FAIL("Model.training_step", "bad batch");
      for (int i = 0; i < sigints; ++i) std::raise(SIGINT);
    }
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  Tensor predict_step(const L::Batch& batch, int64_t batch_idx, int64_t) override {
    if (batch_idx == fail_at) std::raise(SIGINT);
    ++steps;
    return forward(batch.tensor(0));
  }
  L::OptimizerConfig configure_optimizers() override {
    return std::make_shared<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.1});
  }
  void on_train_batch_end(const Value&, const L::Batch&, int64_t) override { ++batch_ends; }
  void teardown(const std::string& stage) override { add("module.teardown"); }
  void on_exception(const std::exception& e) override {
    add("module.on_exception");
    keyboard_interrupt = dynamic_cast<const L::KeyboardInterrupt*>(&e) != nullptr;
  }
  void add(const std::string& s) {
    if (record != nullptr) record->push_back(s);
  }

  std::vector<std::string>* record;
  std::shared_ptr<nn::Linear> net;
  int64_t fail_at = -1;
  std::string failure;
  int sigints = 1;
  int64_t steps = 0;
  int64_t batch_ends = 0;
  bool keyboard_interrupt = false;
};

struct RecordingCallback : L::Callback {
  explicit RecordingCallback(std::vector<std::string>* record) : record(record) {}
  void on_exception(L::Trainer& t, L::LightningModule&, const std::exception& e) override {
    record->push_back("callback.on_exception");
    status_seen = t.state().status;
    message = e.what();
  }
  void teardown(L::Trainer&, L::LightningModule&, const std::string&) override {
    record->push_back("callback.teardown");
  }
  std::vector<std::string>* record;
  std::string status_seen;
  std::string message;
};

struct RecordingLogger : L::Logger {
  explicit RecordingLogger(std::vector<std::string>* record) : record(record) {}
  std::string name() const override { return "rec"; }
  Value version() const override { return Value(int64_t{0}); }
  void log_metrics(const std::map<std::string, double>&, std::optional<int64_t>) override {}
  void log_hyperparams(const Value&) override {}
  void finalize(const std::string& status) override { record->push_back("logger.finalize(" + status + ")"); }
  std::vector<std::string>* record;
};

struct DataModule : L::LightningDataModule {
  explicit DataModule(std::vector<std::string>* record) : record(record) {}
  L::Loaders train_dataloader() override { return data::DataLoader(dataset(), {.batch_size = 4}); }
  void teardown(const std::string&) override { record->push_back("datamodule.teardown"); }
  void on_exception(const std::exception&) override { record->push_back("datamodule.on_exception"); }
  std::vector<std::string>* record;
};

L::TrainerOptions quiet(std::vector<std::shared_ptr<L::Callback>> callbacks = {}) {
  return {.callbacks = std::move(callbacks), .max_epochs = 2, .logger = false, .enable_checkpointing = false,
          .enable_progress_bar = false, .enable_model_summary = false};
}

// Runs this test binary again on one test case with `env` added; returns the waitpid status.
pid_t spawn_self(const std::string& test_case, const std::string& env) {
  std::vector<std::string> env_strings = {env};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--test-case=" + test_case;
  std::string quiet_flag = "--no-intro=true";
  char* argv[] = {exe.data(), filter.data(), quiet_flag.data(), nullptr};
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()) == 0);
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

TEST_CASE("interrupt: an exception reaches the caller with its type; on_exception, loggers, no teardown") {
  std::vector<std::string> record;
  auto cb = std::make_shared<RecordingCallback>(&record);
  DataModule dm(&record);
  Model model(&record);
  model.fail_at = 2;
  model.failure = "out_of_range";
  L::TrainerOptions options = quiet({cb});
  options.logger = std::make_shared<RecordingLogger>(&record);
  L::Trainer trainer(std::move(options));
  // Lightning re-raises the same exception object: a std::out_of_range stays one.
  CHECK_THROWS_WITH_AS(trainer.fit(model, dm), "index 9 is out of range", std::out_of_range);
  CHECK(model.steps == 3);
  CHECK(trainer.failed_hook() == "training_step");
  CHECK(trainer.interrupted());
  CHECK(trainer.state().status == "interrupted");
  CHECK(trainer.state().stage.empty());
  CHECK(cb->status_seen == "interrupted");  // set before the hooks, as _interrupt does
  CHECK(cb->message == "index 9 is out of range");
  CHECK_FALSE(model.keyboard_interrupt);
  // _interrupt's order (the module's hook is Fulgur's addition, between the two), then
  // trainer._teardown(): the teardown hooks do not run.
  CHECK(record == std::vector<std::string>{"callback.on_exception", "module.on_exception", "datamodule.on_exception",
                                           "logger.finalize(failed)"});
}

TEST_CASE("interrupt: a fulgur::Error names the hook in its message") {
  std::vector<std::string> record;
  Model model(&record);
  model.fail_at = 1;
  model.failure = "fulgur";
  L::Trainer trainer(quiet());
  CHECK_THROWS_WITH_AS(trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4})),
                       "Model.training_step: bad batch [raised in `training_step`]", Error);
  CHECK(trainer.failed_hook() == "training_step");
  CHECK(record == std::vector<std::string>{"module.on_exception"});
  // A later successful run clears the state.
  model.fail_at = -1;
  trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4}));
  CHECK(trainer.state().status == "finished");
  CHECK_FALSE(trainer.interrupted());
  CHECK(trainer.failed_hook().empty());
}

namespace {
volatile std::sig_atomic_t g_outer_handler_calls = 0;
extern "C" void outer_handler(int) { g_outer_handler_calls = g_outer_handler_calls + 1; }
}  // namespace

TEST_CASE("interrupt: SIGINT stops the fit after the current batch and throws KeyboardInterrupt") {
  // A program's own SIGINT handler: the Trainer replaces it during the run only.
  struct sigaction outer {}, before {}, after {};
  outer.sa_handler = outer_handler;
  sigemptyset(&outer.sa_mask);
  REQUIRE(sigaction(SIGINT, &outer, &before) == 0);

  std::vector<std::string> record;
  auto cb = std::make_shared<RecordingCallback>(&record);
  Model model(&record);
  model.fail_at = 3;  // raise(SIGINT) inside training_step of batch 3 (of 6 per epoch)
  L::TrainerOptions options = quiet({cb});
  options.logger = std::make_shared<RecordingLogger>(&record);
  L::Trainer trainer(std::move(options));
  CHECK_THROWS_AS(trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4})), L::KeyboardInterrupt);
  // Batch 3 finished (step, optimizer step, batch-end hooks), nothing after it ran.
  CHECK(model.steps == 4);
  CHECK(model.batch_ends == 4);
  CHECK(trainer.global_step() == 4);
  CHECK(trainer.current_epoch() == 0);
  CHECK(trainer.interrupted());
  CHECK(model.keyboard_interrupt);
  CHECK(cb->message == std::string(L::KeyboardInterrupt().what()));
  CHECK(record == std::vector<std::string>{"callback.on_exception", "module.on_exception", "logger.finalize(failed)"});
  CHECK(g_outer_handler_calls == 0);  // the Trainer's handler took it

  // The program's handler is back.
  REQUIRE(sigaction(SIGINT, nullptr, &after) == 0);
  CHECK((after.sa_handler == &outer_handler));
  std::raise(SIGINT);
  CHECK(g_outer_handler_calls == 1);

  // The flag does not leak into the next run.
  model.fail_at = -1;
  model.steps = 0;
  trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4}));
  CHECK(model.steps == 12);
  CHECK(trainer.state().status == "finished");
  REQUIRE(sigaction(SIGINT, &before, nullptr) == 0);
}

TEST_CASE("interrupt: SIGINT during predict stops after the batch") {
  Model model;
  model.fail_at = 2;
  L::Trainer trainer(quiet());
  CHECK_THROWS_AS(trainer.predict(model, data::DataLoader(dataset(), {.batch_size = 4})), L::KeyboardInterrupt);
  CHECK(model.steps == 3);  // batch 2 (where SIGINT came) finished; batch 3 did not start
  CHECK(trainer.interrupted());
}

// Helper (only with FULGUR_DOUBLE_SIGINT_CHILD set): two SIGINTs in one batch.
TEST_CASE("helper_double_sigint_child") {
  if (std::getenv("FULGUR_DOUBLE_SIGINT_CHILD") == nullptr) return;
  Model model;
  model.fail_at = 1;
  model.sigints = 2;
  L::Trainer trainer(quiet());
  trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4}));
  std::_Exit(3);  // not reached: the second SIGINT terminates the process
}

TEST_CASE("interrupt: a second SIGINT while the stop is pending terminates the process by SIGINT") {
  const int status = wait_status(spawn_self("helper_double_sigint_child", "FULGUR_DOUBLE_SIGINT_CHILD=1"));
  INFO("exited: ", WIFEXITED(status), ", exit code ", WEXITSTATUS(status));
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
}

// ---- kill -9 in the middle of a fit, then resume from last.ckpt ------------------------------

namespace {

constexpr int64_t kKillAtStep = 7;  // of 3 epochs x 6 batches: in epoch 1

class ResumeModel : public L::LightningModule {
 public:
  ResumeModel() : L::LightningModule(L::HParams{{"lr", 0.05}}) {
    save_hyperparameters();
    net = register_module("net", nn::Sequential(nn::Linear(3, 4), nn::Tanh(), nn::Linear(4, 1)));
  }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override {
    auto opt = std::make_shared<optim::Adam>(parameters(), optim::AdamOptions{.lr = hparam<double>("lr")});
    return {opt,
            {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1, .gamma = 0.8})}};
  }
  std::shared_ptr<nn::Sequential> net;
};

// Blocks the child for good at the start of the batch after step `at` (ModelCheckpoint, which
// runs last, has saved step `at` by then), after writing a marker for the parent.
struct BlockAt : L::Callback {
  BlockAt(int64_t at, std::string marker) : at(at), marker(std::move(marker)) {}
  void on_train_batch_start(L::Trainer& t, L::LightningModule&, const L::Batch&, int64_t) override {
    if (t.global_step() == at) {
      std::ofstream(marker) << t.global_step();
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  int64_t at;
  std::string marker;
};

std::shared_ptr<L::callbacks::ModelCheckpoint> every_step_checkpoint(const std::string& dir) {
  return std::make_shared<L::callbacks::ModelCheckpoint>(
      L::callbacks::ModelCheckpointOptions{.dirpath = dir, .save_last = true, .every_n_train_steps = 1});
}

L::TrainerOptions resume_options(std::vector<std::shared_ptr<L::Callback>> callbacks) {
  return {.callbacks = std::move(callbacks), .max_epochs = 3, .logger = false, .enable_progress_bar = false,
          .enable_model_summary = false};
}

std::vector<float> flat_params(L::LightningModule& m) {
  std::vector<float> out;
  for (const Tensor& p : m.parameters()) {
    for (float v : p.to_vector<float>()) out.push_back(v);
  }
  return out;
}

fs::path kill9_dir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return (tmp != nullptr ? fs::path(tmp) : fs::temp_directory_path()) / "kill9";
}

}  // namespace

// Helper (only with FULGUR_KILL9_CHILD set): the fit that the parent kills.
TEST_CASE("helper_kill9_child") {
  if (std::getenv("FULGUR_KILL9_CHILD") == nullptr) return;
  const fs::path dir = kill9_dir();
  manual_seed(7);
  ResumeModel model;
  L::Trainer trainer(resume_options(
      {std::make_shared<BlockAt>(kKillAtStep, (dir / "marker").string()), every_step_checkpoint((dir / "ckpts").string())}));
  trainer.fit(model, data::DataLoader(dataset(), {.batch_size = 4, .shuffle = true}));
  std::_Exit(3);  // not reached
}

TEST_CASE("interrupt: a fit killed by SIGKILL resumes from last.ckpt to the uninterrupted parameters") {
  const fs::path dir = kill9_dir();
  fs::remove_all(dir);
  fs::create_directories(dir);

  manual_seed(7);
  ResumeModel straight;
  L::Trainer full(resume_options({every_step_checkpoint((dir / "straight").string())}));
  full.fit(straight, data::DataLoader(dataset(), {.batch_size = 4, .shuffle = true}));
  REQUIRE(full.global_step() == 18);

  const pid_t child = spawn_self("helper_kill9_child", "FULGUR_KILL9_CHILD=1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir / "marker") && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) FAIL("the child ended before the marker, status " << status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(fs::exists(dir / "marker"));
  REQUIRE(kill(child, SIGKILL) == 0);
  const int status = wait_status(child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // What the killed run left: every file a complete checkpoint, no temporary files.
  const fs::path ckpts = dir / "ckpts";
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(ckpts)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  // save_top_k=1 without a monitor keeps the latest step's file, plus last.ckpt.
  CHECK(names == std::vector<std::string>{"epoch=1-step=7.ckpt", "last.ckpt"});
  for (const std::string& name : names) {
    CAPTURE(name);
    Value ck;
    CHECK_NOTHROW(ck = load((ckpts / name).string()));
    CHECK(ck.at("global_step").as_int() == kKillAtStep);
  }

  manual_seed(123);  // a different start: everything must come from last.ckpt
  ResumeModel resumed;
  L::Trainer rest(resume_options({every_step_checkpoint(ckpts.string())}));
  rest.fit(resumed, data::DataLoader(dataset(), {.batch_size = 4, .shuffle = true}), {}, {.ckpt_path = "last"});
  CHECK(fs::equivalent(rest.ckpt_path(), ckpts / "last.ckpt"));
  CHECK(rest.global_step() == 18);
  CHECK(rest.current_epoch() == 3);
  CHECK(flat_params(resumed) == flat_params(straight));
  names.clear();
  for (const auto& entry : fs::directory_iterator(ckpts)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"epoch=2-step=18.ckpt", "last.ckpt"});
}
