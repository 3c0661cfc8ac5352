// An independent oracle for the loggers: a Trainer.fit with TensorBoardLogger and MLFlowLogger
// (plus add_text), then tests/trainer_loggers_oracle.py reads the files back with the real
// Python packages, tensorboard (EventAccumulator, the hparams plugin's protos, torch's
// summary.hparams when torch is importable) and mlflow-skinny (MlflowClient on the file store),
// and compares every scalar, hyperparameter, text, param, metric history, tag and the run
// status with what Lightning 2.x logs for this run (written here by hand into expected.json).
// Then it shows that the oracle fails when it should: on a wrong expected value, on an event
// file with one corrupted CRC, on a wrong MLflow param.
//
// Which Python: $FULGUR_TEST_PYTHON when set (--test_env=FULGUR_TEST_PYTHON=/path/to/python3),
// else the venv .ci/run makes, <home>/.cache/fulgur/pyenv/bin/python3 (home from the password
// database: in a Bazel test $HOME is the test's temp dir), else /usr/bin/python3. Without
// python3, tensorboard or mlflow there the test prints a SKIPPED line naming what is missing
// and how to get it, and passes.
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 (std::string concatenation)

#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "subprocess_util.h"
#include "fulgur/fulgur.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace fulgur;
using namespace fulgur::testing;
namespace L = fulgur::lightning;
namespace F = fulgur::nn::functional;

namespace {




// 4 training batches per epoch, 2 epochs; "a" = global batch index + 0.5 (exact in float32),
// validation "v" = 0.25 then 0.75.
class Model : public L::LightningModule {
 public:
  Model()
      : L::LightningModule(L::HParams{{"lr", 0.1},
                                      {"optimizer", "sgd"},
                                      {"net", Value::dict().set("width", 32).set("act", "relu")},
                                      {"flag", true},
                                      {"sizes", Value::list({Value(1), Value(2)})}}) {
    save_hyperparameters();
    layer = register_module("layer", nn::Linear(1, 1));
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override {
    log("a", static_cast<double>(trainer().current_epoch() * 4 + batch_idx) + 0.5, {.on_step = true, .on_epoch = true});
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss((*layer)(x), y);
  }
  void validation_step(const L::Batch&, int64_t batch_idx) override { log("v", batch_idx == 0 ? 0.25 : 0.75); }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }
  std::shared_ptr<nn::Linear> layer;
};

// What Lightning 2.x logs for this run with log_every_n_steps=2 (see trainer_loggers_test.cc):
// a_step at steps 1, 3, 5, 7; v and a_epoch at each epoch's last step (3, 7); "epoch" with
// every row; hp_metric = -1 at step 0 (TensorBoard, default_hp_metric).
const char* kScalars = R"("a_step": [[1, 1.5], [3, 3.5], [5, 5.5], [7, 7.5]],
      "a_epoch": [[3, 2.0], [7, 6.0]],
      "v": [[3, 0.5], [7, 0.5]],
      "epoch": [[1, 0], [3, 0], [3, 0], [3, 0], [5, 1], [7, 1], [7, 1], [7, 1]])";

std::string expected_json(const std::string& tb_dir, const std::string& uri, const std::string& run_id) {
  return std::string(R"({
  "tensorboard": {
    "log_dir": ")") + tb_dir + R"(",
    "scalars": {
      "hp_metric": [[0, -1.0]],
      )" + kScalars + R"(
    },
    "hparams": {"lr": 0.1, "optimizer": "sgd", "net/width": 32, "net/act": "relu", "flag": true, "sizes": "[1, 2]"},
    "metric_tags": ["hp_metric"],
    "texts": {"notes": [[0, "before the fit"], [7, "after the fit: ünïcode"]]}
  },
  "mlflow": {
    "tracking_uri": ")" + uri + R"(",
    "experiment_name": "oracle",
    "run_id": ")" + run_id + R"(",
    "run_name": "run-1",
    "status": "FINISHED",
    "params": {"lr": "0.1", "optimizer": "sgd", "net/width": "32", "net/act": "relu", "flag": "True",
               "sizes": "[1, 2]"},
    "tags": {"mlflow.runName": "run-1", "team": "fulgur", "mlflow.source.type": "LOCAL"},
    "metrics": {
      )" + kScalars + R"(
    }
  }
}
)";
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("loggers oracle: tensorboard and mlflow read back what TensorBoardLogger and MLFlowLogger wrote") {
  const auto [python, from] = find_python();
  if (const auto skip = python_oracle_skip_reason(
          "loggers python oracle", {python, from},
          {{"tensorboard", "tensorboard.backend.event_processing.event_accumulator"}, {"mlflow-skinny", "mlflow.tracking"}},
          "tensorboard==2.18.0 mlflow-skinny==2.19.0 protobuf==5.29.6")) {
    std::cout << *skip << std::endl;
    MESSAGE(*skip);
    return;
  }

  const fs::path dir = fresh_test_dir("loggers_python_oracle");
  const std::string uri = "file:" + (dir / "mlruns").string();

  auto tb = std::make_shared<L::loggers::TensorBoardLogger>(L::loggers::TensorBoardLoggerOptions{.save_dir = dir.string()});
  auto mlf = std::make_shared<L::loggers::MLFlowLogger>(L::loggers::MLFlowLoggerOptions{
      .experiment_name = "oracle", .run_name = "run-1", .tracking_uri = uri, .tags = {{"team", "fulgur"}}});
  tb->add_text("notes", "before the fit", 0);
  {
    L::Trainer trainer({.max_epochs = 2, .logger = std::vector<std::shared_ptr<L::Logger>>{tb, mlf},
                        .num_sanity_val_steps = 0, .log_every_n_steps = 2, .enable_progress_bar = false,
                        .enable_model_summary = false, .default_root_dir = dir.string()});
    Model model;
    Tensor x = arange(8).to(DType::Float32).reshape({8, 1});
    auto ds = std::make_shared<data::TensorDataset>(x, x * 2.0);
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
  }
  // After finalize closed the writer, a record opens a new event file (as SummaryWriter does).
  tb->add_text("notes", "after the fit: ünïcode", 7);
  tb->finalize("success");

  const std::string expected = expected_json(*tb->log_dir(), uri, mlf->run_id());
  const std::string oracle = "tests/trainer_loggers_oracle.py";
  auto run_oracle = [&](const std::string& json, std::string& out) {
    const fs::path path = dir / ("expected_" + std::to_string(std::hash<std::string>{}(json)) + ".json");
    write_file_bytes(path, json);
    return run_command(shell_quoted(python) + " " + oracle + " " + shell_quoted(path.string()), out);
  };

  std::string out;
  const int rc = run_oracle(expected, out);
  MESSAGE("python: " << python << " (" << from << ")\n" << out);
  CHECK(rc == 0);
  CHECK(out.find("ORACLE PASSED") != std::string::npos);
  CHECK(out.find("FAIL ") == std::string::npos);
  CHECK(out.find("lengths and CRCs verified") != std::string::npos);

  SUBCASE("the oracle fails on a wrong expected scalar") {
    std::string bad;
    CHECK(run_oracle(replace_once(expected, "[3, 3.5]", "[3, 3.25]"), bad) == 1);
    MESSAGE(bad);
    CHECK(bad.find("FAIL scalar a_step") != std::string::npos);
    CHECK(bad.find("ORACLE FAILED") != std::string::npos);
  }
  SUBCASE("the oracle fails on a wrong MLflow param") {
    std::string bad;
    CHECK(run_oracle(replace_once(expected, R"("lr": "0.1")", R"("lr": "0.2")"), bad) == 1);
    MESSAGE(bad);
    CHECK(bad.find("FAIL params") != std::string::npos);
  }
  SUBCASE("the oracle fails on an event file with one corrupted payload CRC") {
    // A copy of the run folder whose first event file has its second record's payload CRC
    // flipped (record 0: file_version; the framing is length(8) crc(4) payload crc(4)).
    const fs::path copy = dir / "corrupted";
    fs::copy(*tb->log_dir(), copy, fs::copy_options::recursive);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(copy)) {
      if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() == 2);
    std::string bytes = read_file_bytes(files[0]);
    uint64_t len0 = 0;
    for (int i = 7; i >= 0; --i) len0 = (len0 << 8) | static_cast<unsigned char>(bytes[i]);
    const size_t second = 16 + len0;
    uint64_t len1 = 0;
    for (int i = 7; i >= 0; --i) len1 = (len1 << 8) | static_cast<unsigned char>(bytes[second + i]);
    bytes[second + 12 + len1] = static_cast<char>(bytes[second + 12 + len1] ^ 0x01);
    write_file_bytes(files[0], bytes);
    std::string bad;
    CHECK(run_oracle(replace_once(expected, *tb->log_dir(), copy.string()), bad) == 1);
    MESSAGE(bad);
    CHECK(bad.find("payload CRC mismatch") != std::string::npos);
    CHECK(bad.find("ORACLE FAILED") != std::string::npos);
  }
}
