// L::loggers::WandbLogger (lightning.pytorch.loggers.WandbLogger, Lightning 2.x): logs to a
// Weights & Biases run written offline (WandbRun), which `wandb sync` uploads later. Fulgur has
// no W&B client: without `.offline = true` it warns once and writes the offline run all the
// same (nothing is lost; W&B's own offline mode, which HPC nodes without internet use).
//
//   auto wb = std::make_shared<L::loggers::WandbLogger>(
//       L::loggers::WandbLoggerOptions{.name = "baseline", .offline = true, .project = "mnist"});
//   L::Trainer trainer({.logger = wb});
//   ...                                    // then: wandb sync ./wandb/offline-run-...
//   wb->experiment().log(Value::dict().set("note", "done"));  // wandb_logger.experiment.log
//
// As Lightning's: the run is made at the first use of experiment() (the Trainer asks for it
// before the setup hooks, so that version() is the run's id); "trainer/global_step" is defined
// as the x-axis of every metric; log_metrics adds it as the step; hyperparameters go to the
// run's config (nested dicts kept, values JSON cannot hold as their str()); name() is the
// project, version() the run's id, save_dir() the folder given. Only rank 0 writes: elsewhere
// experiment() is a disabled run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/logger.h"
#include "fulgur/trainer/loggers/wandb_run.h"

namespace fulgur::lightning::loggers {

// Lightning's WandbLogger arguments, names, order and defaults, then the wandb.init **kwargs
// an offline run uses.
struct WandbLoggerOptions {
  std::optional<std::string> name = std::nullopt;  // the run's display name
  std::optional<std::string> save_dir = ".";       // where wandb/ goes; nullopt: `dir`
  std::optional<std::string> version = std::nullopt;  // the run id (also `id`)
  bool offline = false;  // false: warned about (no W&B client here), written offline anyway
  std::optional<std::string> dir = std::nullopt;
  std::optional<std::string> id = std::nullopt;
  std::optional<bool> anonymous = std::nullopt;  // accepted; an offline run has no account
  // nullopt: $WANDB_PROJECT, else "lightning_logs" (Lightning's fallbacks).
  std::optional<std::string> project = std::nullopt;
  // Checkpoints as W&B artifacts (true or "all"): refused, they need an upload (with
  // offline = true, Lightning's own error).
  Value log_model = false;
  std::string prefix = "";  // put before every metric key, joined with "-"
  std::optional<std::string> checkpoint_name = std::nullopt;  // the artifacts' name: unused without log_model
  // wandb.init's keyword arguments.
  std::string entity = "";
  std::string group = "";
  std::string job_type = "";
  std::string notes = "";
  std::vector<std::string> tags = {};
  Value config = Value::dict();
};

class WandbLogger : public Logger {
 public:
  static constexpr const char* kStepMetric = "trainer/global_step";

  explicit WandbLogger(WandbLoggerOptions options = {});
  ~WandbLogger() override;  // finishes the run and says how to upload it

  // Lightning: name is the project, version the run's id (the id given before the run exists).
  std::string name() const override { return project_; }
  Value version() const override;
  std::optional<std::string> save_dir() const override { return save_dir_; }

  // The run, made at the first call (a disabled one on ranks other than 0).
  WandbRun& experiment();
  void create_experiment() override { experiment(); }

  // experiment.log(metrics + {"trainer/global_step": step}), keys prefixed.
  void log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) override;
  // experiment.config.update(params): nested dicts kept, what JSON cannot hold as its str().
  void log_hyperparams(const Value& params) override;
  void save() override;
  // Lightning leaves the run open (W&B finishes it at exit): the run is finished when this logger
  // is destroyed or by experiment().finish(); "failed" makes its exit code 1.
  void finalize(const std::string& status) override;

  const WandbLoggerOptions& options() const { return options_; }

 private:
  WandbLoggerOptions options_;
  std::string project_;
  std::optional<std::string> save_dir_;
  std::optional<std::string> id_;
  std::unique_ptr<WandbRun> run_;
};

}  // namespace fulgur::lightning::loggers
