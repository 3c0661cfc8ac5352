// L::loggers::TensorBoardLogger (lightning.pytorch.loggers.TensorBoardLogger, Lightning 2.x;
// the Trainer's default logger): TensorBoard event files under save_dir/name/version_<N>
// [/sub_dir], named events.out.tfevents.<seconds>.<host>.<pid>.<n> as torch's SummaryWriter
// names them, plus hparams.yaml. TensorBoard itself (or tensorboard's EventAccumulator) reads
// them: scalars, the hparams plugin's experiment/session records, text.
//
//   auto tb = std::make_shared<L::loggers::TensorBoardLogger>(
//       L::loggers::TensorBoardLoggerOptions{.save_dir = "tb_logs", .name = "my_model"});
//   L::Trainer trainer({.logger = tb});
//   tb->add_text("notes", "first try", 0);   // SummaryWriter.add_text (logger.experiment in Python)
//
// The file is created at the first record (Lightning creates its SummaryWriter lazily too);
// save() flushes what is buffered, finalize() flushes and closes. The event encoding is in
// tensorboard_events.h, the framing in tfrecord_writer.h.
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/logger.h"

namespace fulgur::lightning::loggers {

class TFRecordWriter;

// Lightning's TensorBoardLogger arguments, names, order and defaults. SummaryWriter's
// **kwargs (max_queue, flush_secs, ...) are not taken: records are flushed on save().
struct TensorBoardLoggerOptions {
  std::string save_dir;
  std::string name = "lightning_logs";  // "" : versions directly under save_dir
  Value version = Value();              // None: the next free version_<N>; an int N; a folder name
  // Accepted and ignored (with a warning when true): writing the model's graph needs a traced
  // GraphDef, which the C++ modules do not produce yet.
  bool log_graph = false;
  // log_hyperparams without metrics logs hp_metric = -1 (so TensorBoard's HPARAMS tab shows
  // the run); false: hyperparameters without metrics are not written to the event file.
  bool default_hp_metric = true;
  std::string prefix = "";                    // put before every metric key, joined with "-"
  std::optional<std::string> sub_dir = std::nullopt;  // logs in save_dir/name/version/sub_dir
};

class TensorBoardLogger : public Logger {
 public:
  static constexpr const char* kHParamsFile = "hparams.yaml";

  explicit TensorBoardLogger(TensorBoardLoggerOptions options);
  // Lightning's positional form, TensorBoardLogger("logs"): save_dir, the rest defaulted. A
  // template, so that a braced TensorBoardLogger({.save_dir = ...}) still means the options.
  template <std::convertible_to<std::string> S>
  explicit TensorBoardLogger(S save_dir)
      : TensorBoardLogger(TensorBoardLoggerOptions{.save_dir = std::string(std::move(save_dir))}) {}
  ~TensorBoardLogger() override;

  std::string name() const override { return options_.name; }
  Value version() const override;
  std::optional<std::string> save_dir() const override { return options_.save_dir; }
  std::optional<std::string> root_dir() const override;  // save_dir/name
  std::optional<std::string> log_dir() const override;   // root_dir/version_<N>[/sub_dir]
  const std::optional<std::string>& sub_dir() const { return options_.sub_dir; }

  void log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) override;
  void log_hyperparams(const Value& params) override;
  // Lightning's log_hyperparams(params, metrics, step): the hparams plugin's records with
  // these metrics (Lightning's metric_dict), which are also logged as scalars.
  void log_hyperparams(const Value& params, const std::map<std::string, double>& metrics,
                       std::optional<int64_t> step = std::nullopt);
  void save() override;
  void finalize(const std::string& status) override;

  // SummaryWriter.add_scalar / add_text (Lightning users reach them via logger.experiment).
  void add_scalar(const std::string& tag, double value, std::optional<int64_t> global_step = std::nullopt);
  void add_text(const std::string& tag, const std::string& text, std::optional<int64_t> global_step = std::nullopt);

  // The hyperparameters logged so far, unflattened (hparams.yaml's content).
  const Value& hparams() const { return hparams_; }
  // The event file's path ("" before the first record).
  std::string event_file() const;
  const TensorBoardLoggerOptions& options() const { return options_; }

 private:
  TFRecordWriter& experiment();
  void write_hparams_records(const Value& params, const std::map<std::string, double>& metrics,
                             std::optional<int64_t> step);

  TensorBoardLoggerOptions options_;
  mutable std::optional<Value> version_;
  std::unique_ptr<TFRecordWriter> writer_;
  Value hparams_ = Value::dict();
};

}  // namespace fulgur::lightning::loggers
