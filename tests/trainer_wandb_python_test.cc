// An independent oracle for WandbLogger: a Trainer.fit logs to an offline W&B run, then
// tests/trainer_wandb_oracle.py reads it with wandb itself (its DataStore, its protos, and the
// `wandb sync --view` command) and compares the run, config, metric definitions, every history
// row, the summary and the exit record with what Lightning 2.x logs for this run (written here
// by hand). A hyperparameter of 70,000 characters makes the config record span three blocks.
// Then it shows the oracle failing when it should: on a wrong expected value, on a run file
// without its final record (wandb sync would then skip the shutdown that uploads the config),
// and on a run file with one corrupted byte.
//
// Which Python: as tests/trainer_loggers_python_test.cc (.ci/run installs wandb==0.18.7 into
// ~/.cache/fulgur/pyenv); without wandb the test prints a SKIPPED line saying how to get it, and
// passes.
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 (std::string concatenation)
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>

#include "subprocess_util.h"
#include "fulgur/fulgur.h"
#include "fulgur/serialize/json_writer.h"
#include "fulgur/trainer/loggers/wandb_records.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace fulgur;
using namespace fulgur::testing;
namespace L = fulgur::lightning;
namespace F = fulgur::nn::functional;

namespace {

const std::string& long_text() {
  static const std::string text = [] {
    std::string s;
    for (int i = 0; s.size() < 70000; ++i) s += "w" + std::to_string(i) + " ";
    return s;
  }();
  return text;
}

// 4 training batches per epoch, 2 epochs; "a" = global batch index + 0.5, validation "v" =
// 0.25 then 0.75 (mean 0.5).
class Model : public L::LightningModule {
 public:
  Model()
      : L::LightningModule(L::HParams{{"lr", 0.1},
                                      {"optimizer", "sgd"},
                                      {"net", Value::dict().set("width", 32).set("act", "relu")},
                                      {"flag", true},
                                      {"sizes", Value::list({Value(1), Value(2)})},
                                      {"long", long_text()}}) {
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

// Lightning 2.x's logging calls for this run with log_every_n_steps=2 (trainer_loggers_test.cc):
// a_step at steps 1, 3, 5, 7; at each epoch's last step v (validation) then a_epoch (epoch end);
// each with the epoch (an int) and WandbLogger's trainer/global_step.
Value expected_rows() {
  auto row = [](const char* key, double value, int64_t epoch, int64_t step) {
    return Value::dict().set(key, value).set("epoch", epoch).set("trainer/global_step", step);
  };
  return Value::list({row("a_step", 1.5, 0, 1), row("a_step", 3.5, 0, 3), row("v", 0.5, 0, 3), row("a_epoch", 2.0, 0, 3),
                      row("a_step", 5.5, 1, 5), row("a_step", 7.5, 1, 7), row("v", 0.5, 1, 7),
                      row("a_epoch", 6.0, 1, 7)});
}

}  // namespace

TEST_CASE("wandb oracle: wandb reads back the offline run WandbLogger wrote") {
  const auto [python, from] = find_python();
  if (const auto skip = python_oracle_skip_reason("wandb python oracle", {python, from},
                                                  {{"wandb", "wandb.sdk.internal.datastore"}},
                                                  "wandb==0.18.7 protobuf==5.29.6")) {
    std::cout << *skip << std::endl;
    MESSAGE(*skip);
    return;
  }
  const fs::path dir = fresh_test_dir("wandb_python_oracle");

  std::string run_dir, run_id;
  {
    auto wb = std::make_shared<L::loggers::WandbLogger>(L::loggers::WandbLoggerOptions{
        .name = "oracle run", .save_dir = dir.string(), .offline = true, .project = "fulgur-oracle",
        .group = "ci", .tags = {"cpu", "ünïcode"}});
    L::Trainer trainer({.max_epochs = 2, .logger = std::shared_ptr<L::Logger>(wb), .num_sanity_val_steps = 0,
                        .log_every_n_steps = 2, .enable_checkpointing = false, .enable_progress_bar = false,
                        .enable_model_summary = false, .default_root_dir = dir.string()});
    Model model;
    Tensor x = arange(8).to(DType::Float32).reshape({8, 1});
    auto ds = std::make_shared<data::TensorDataset>(x, x * 2.0);
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}));
    run_dir = wb->experiment().dir();
    run_id = wb->experiment().id();
  }  // the logger's end finishes the run (its exit record)

  const Value expected =
      Value::dict()
          .set("run_dir", run_dir)
          .set("run_id", run_id)
          .set("project", "fulgur-oracle")
          .set("display_name", "oracle run")
          .set("group", "ci")
          .set("tags", Value::list({Value("cpu"), Value("ünïcode")}))
          .set("config", Value::dict()
                             .set("lr", 0.1)
                             .set("optimizer", "sgd")
                             .set("net", Value::dict().set("width", 32).set("act", "relu"))
                             .set("flag", true)
                             .set("sizes", Value::list({Value(1), Value(2)}))
                             .set("long", long_text()))
          .set("rows", expected_rows())
          .set("step_metric", "trainer/global_step")
          .set("exit_code", 0);
  const std::string oracle = "tests/trainer_wandb_oracle.py";
  auto run_oracle = [&](const Value& want, std::string& out) {
    const fs::path path = dir / "expected.json";
    write_file_bytes(path, serialize::to_json(want));
    return run_command(shell_quoted(python) + " " + oracle + " " + shell_quoted(path.string()), out);
  };

  std::string out;
  const int rc = run_oracle(expected, out);
  MESSAGE("python: " << python << " (" << from << ")\n" << out);
  CHECK(rc == 0);
  CHECK(out.find("ORACLE PASSED") != std::string::npos);
  CHECK(out.find("FAIL ") == std::string::npos);
  CHECK(out.find("wandb sync --view --verbose: exit 0") != std::string::npos);

  SUBCASE("the oracle fails on a wrong expected value") {
    Value wrong = expected;
    wrong.at("rows")[1].set("a_step", 3.25);
    std::string bad;
    CHECK(run_oracle(wrong, bad) == 1);
    MESSAGE(bad);
    CHECK(bad.find("FAIL row 1") != std::string::npos);
    CHECK(bad.find("ORACLE FAILED") != std::string::npos);
  }
  // The oracle on a copy of the run whose .wandb bytes `edit` changed.
  auto run_oracle_on_edited_copy = [&](const std::string& name, const std::function<std::string(std::string)>& edit,
                                       std::string& out) {
    const fs::path copy = dir / name;
    fs::copy(run_dir, copy, fs::copy_options::recursive);
    const fs::path file = copy / ("run-" + run_id + ".wandb");
    write_file_bytes(file, edit(read_file_bytes(file)));
    Value moved = expected;
    moved.set("run_dir", copy.string());
    return run_oracle(moved, out);
  };
  SUBCASE("without the final record, wandb sync would not upload the hyperparameters") {
    // The file cut before its last record (the final record is one FULL chunk at the end).
    const size_t last_chunk = 7 + L::loggers::wandb::final_record(1, run_id).size();
    std::string bad;
    CHECK(run_oracle_on_edited_copy(
              "no_final", [&](std::string bytes) { return bytes.substr(0, bytes.size() - last_chunk); }, bad) == 1);
    MESSAGE(bad);
    CHECK(bad.find("FAIL sender: the last upsert_run's config") != std::string::npos);
  }
  SUBCASE("the oracle fails on a run file with one corrupted byte") {
    std::string bad;
    CHECK(run_oracle_on_edited_copy(
              "corrupted",
              [](std::string bytes) {
                bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
                return bytes;
              },
              bad) == 1);
    MESSAGE(bad);
    CHECK(bad.find("checksum is invalid") != std::string::npos);
    CHECK(bad.find("ORACLE FAILED") != std::string::npos);
  }
}
