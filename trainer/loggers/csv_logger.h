// L::loggers::CSVLogger (lightning.pytorch.loggers.CSVLogger, Lightning 2.x): metrics to
// save_dir/name/version_<N>/metrics.csv, hyperparameters to hparams.yaml next to it.
//
//   auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = "logs"});
//   L::Trainer trainer({.logger = csv});   // logs/lightning_logs/version_0/metrics.csv
//
// metrics.csv, as Lightning's _ExperimentWriter writes it: one row per log_metrics call, a
// header of every key seen so far plus "step", sorted; a key missing from a row is an empty
// cell. When a save brings new keys the whole file is rewritten under the new header; other
// saves append. Values print as Python's csv module prints them (floats as repr, the int
// "epoch" and "step" as ints), rows end in "\r\n" (csv's default dialect).
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/logger.h"

namespace fulgur::lightning::loggers {

// Lightning's CSVLogger arguments, names, order and defaults (save_dir has none there).
struct CSVLoggerOptions {
  std::string save_dir;
  std::string name = "lightning_logs";  // "" : versions directly under save_dir (Lightning's None)
  Value version = Value();              // None: the next free version_<N>; an int N; a folder name
  std::string prefix = "";              // put before every metric key, joined with "-"
  int64_t flush_logs_every_n_steps = 100;
};

class CSVLogger : public Logger {
 public:
  static constexpr const char* kMetricsFile = "metrics.csv";
  static constexpr const char* kHParamsFile = "hparams.yaml";

  explicit CSVLogger(CSVLoggerOptions options);
  // Lightning's positional form, CSVLogger("logs"): save_dir, the rest defaulted. A template, so
  // that a braced CSVLogger({.save_dir = ...}) still means the options (nothing to deduce).
  template <std::convertible_to<std::string> S>
  explicit CSVLogger(S save_dir) : CSVLogger(CSVLoggerOptions{.save_dir = std::string(std::move(save_dir))}) {}

  std::string name() const override { return options_.name; }
  // The version given, else the next free one, decided at the first call and kept.
  Value version() const override;
  std::optional<std::string> save_dir() const override { return options_.save_dir; }
  std::optional<std::string> root_dir() const override;  // save_dir/name
  std::optional<std::string> log_dir() const override;   // root_dir/version_<N> (or the version string)

  void log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) override;
  void log_hyperparams(const Value& params) override;
  void save() override;
  void finalize(const std::string& status) override;

  // The hyperparameters logged so far (hparams.yaml's content).
  const Value& hparams() const { return hparams_; }
  const CSVLoggerOptions& options() const { return options_; }

 private:
  void ensure_experiment();
  std::string metrics_path() const;

  CSVLoggerOptions options_;
  mutable std::optional<Value> version_;
  bool experiment_ = false;
  Value hparams_ = Value::dict();
  std::vector<std::string> keys_;                             // the header, sorted
  std::vector<std::map<std::string, std::string>> rows_;      // every row logged (for rewrites)
  size_t saved_rows_ = 0;                                     // rows_[0, saved_rows_) are in the file
  bool file_written_ = false;
};

}  // namespace fulgur::lightning::loggers
