// L::loggers::MLFlowLogger (lightning.pytorch.loggers.MLFlowLogger, Lightning 2.x): writes
// MLflow's local file store (what `mlflow.tracking.MlflowClient("file:./mlruns")` and
// `mlflow ui --backend-store-uri ./mlruns` read), laid out as mlflow/store/tracking/file_store.py
// writes it:
//
//   mlruns/0/meta.yaml                          the "Default" experiment (a new store), .trash/
//   mlruns/<experiment_id>/meta.yaml            name, artifact_location, lifecycle_stage, times
//   mlruns/<experiment_id>/<run_id>/meta.yaml   run_name, status (1 RUNNING, 3 FINISHED, 4 FAILED),
//                                               start_time/end_time (ms), user_id, artifact_uri
//     params/<key>      the value, no newline (nested hparams flattened with "/": sub-folders)
//     metrics/<key>     one line per value: "<timestamp ms> <value> <step>"
//     tags/<key>        mlflow.runName, mlflow.user, mlflow.source.name, mlflow.source.type, yours
//     artifacts/
//
//   auto mlf = std::make_shared<L::loggers::MLFlowLogger>(
//       L::loggers::MLFlowLoggerOptions{.experiment_name = "mnist", .tracking_uri = "file:./ml-runs"});
//   L::Trainer trainer({.logger = mlf});
//
// Only file stores (file:<path>, file:///<path> or a plain path) can be written; an http(s)
// tracking server is refused with a message. The experiment and run are made at first use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/logger.h"

namespace fulgur::lightning::loggers {

// Lightning's MLFlowLogger arguments, names, order and defaults.
struct MLFlowLoggerOptions {
  std::string experiment_name = "lightning_logs";
  // Stored as the mlflow.runName tag (overriding one in tags); none: MLflow's random name.
  std::optional<std::string> run_name = std::nullopt;
  // nullopt: $MLFLOW_TRACKING_URI when set, else "file:" + save_dir (Lightning's default).
  std::optional<std::string> tracking_uri = std::nullopt;
  std::map<std::string, std::string> tags = {};
  std::string save_dir = "./mlruns";  // used only without a tracking_uri
  bool log_model = false;             // checkpoints as artifacts: not supported yet (true fails)
  std::string prefix = "";            // put before every metric key, joined with "-"
  std::optional<std::string> artifact_location = std::nullopt;
  std::optional<std::string> run_id = std::nullopt;  // log into this existing run
  std::optional<bool> synchronous = std::nullopt;    // accepted: file writes are always synchronous
};

class MLFlowLogger : public Logger {
 public:
  explicit MLFlowLogger(MLFlowLoggerOptions options);

  // Lightning: name is the experiment id, version the run id (both made at first use).
  std::string name() const override { return experiment_id(); }
  Value version() const override { return Value(run_id()); }
  // The tracking URI without "file:" (Lightning's save_dir); nullopt for other URIs.
  std::optional<std::string> save_dir() const override;

  void log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) override;
  // Flattened with "/" (Lightning's _flatten_dict), values as Python's str() cut to 250
  // characters, as Lightning sends them.
  void log_hyperparams(const Value& params) override;
  // "success" -> FINISHED, "failed" -> FAILED (Lightning's mapping); MLflow's status names pass.
  void finalize(const std::string& status) override;

  const std::string& experiment_id() const;
  const std::string& run_id() const;
  const std::string& tracking_uri() const { return tracking_uri_; }
  // The store's folder (the tracking URI as a local path) and this run's folder.
  const std::string& store_root() const { return root_; }
  std::string run_dir() const;

 private:
  void init() const;
  void write_run_meta(int status, std::optional<int64_t> end_time, bool with_deleted_time) const;

  MLFlowLoggerOptions options_;
  std::string tracking_uri_;
  std::string root_;
  mutable bool initialized_ = false;
  mutable std::string experiment_id_;
  mutable std::string run_id_;
  mutable std::string run_name_;
  mutable int64_t start_time_ = 0;
  mutable std::string user_;
};

}  // namespace fulgur::lightning::loggers
