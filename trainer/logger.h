// L::Logger: where the Trainer sends logged metrics and hyperparameters
// (lightning.pytorch.loggers.Logger). The implementations live in trainer/loggers/.
//
//   L::Trainer trainer({.logger = std::make_shared<L::loggers::CSVLogger>(
//                           L::loggers::CSVLoggerOptions{.save_dir = "logs"})});
//
// The Trainer calls, as Lightning's logger connector does: log_hyperparams (the module's
// saved hyperparameters, or an empty dict) then save() once per run before the loops; for each
// batch of logged metrics, log_metrics (with "epoch" added and the step = optimizer steps taken,
// Lightning's `_batches_that_stepped`) then save(); after_save_checkpoint after each checkpoint
// ModelCheckpoint writes; finalize("success" | "failed") when the run ends.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "fulgur/tensor/value.h"

namespace fulgur::lightning {

namespace callbacks {
class ModelCheckpoint;
}

class Logger {
 public:
  virtual ~Logger() = default;

  // The experiment's name ("lightning_logs") and version: an int (the run's folder is then
  // save_dir/name/version_<N>) or a string (the folder's name itself), as in Lightning.
  virtual std::string name() const = 0;
  virtual Value version() const = 0;
  // Where the logger writes; nullopt for loggers without a local folder.
  virtual std::optional<std::string> save_dir() const { return std::nullopt; }
  virtual std::optional<std::string> root_dir() const { return std::nullopt; }
  // The run's own folder (Lightning's log_dir): Trainer.log_dir and ModelCheckpoint's default
  // dirpath are derived from it. Defaults to save_dir, as Lightning's Trainer does for loggers
  // other than TensorBoard and CSV.
  virtual std::optional<std::string> log_dir() const { return save_dir(); }

  // Lightning's `_ = logger.experiment` before the setup hooks (_call_setup_hook): a logger that
  // makes its run lazily makes it now, so that version() is known to the callbacks' setup
  // (ModelCheckpoint's folder). The file loggers decide their version at its first call instead.
  virtual void create_experiment() {}
  virtual void log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) = 0;
  // A dict Value (an HParams' to_value(), possibly nested).
  virtual void log_hyperparams(const Value& params) = 0;
  virtual void save() {}
  virtual void finalize(const std::string& status) {}
  virtual void after_save_checkpoint(const callbacks::ModelCheckpoint& checkpoint_callback) {}
};

namespace detail {
// What Trainer(logger=true) creates: Lightning's TensorBoardLogger(save_dir=default_root_dir).
std::shared_ptr<Logger> default_logger(const std::string& root_dir);
}  // namespace detail

}  // namespace fulgur::lightning
