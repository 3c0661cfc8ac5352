#include "fulgur/trainer/loggers/tensorboard_logger.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/loggers/logger_params.h"
#include "fulgur/trainer/loggers/tensorboard_events.h"
#include "fulgur/trainer/loggers/tfrecord_writer.h"
#include "fulgur/trainer/loggers/version_dirs.h"
#include "fulgur/trainer/rank_zero.h"

namespace fulgur::lightning {

namespace detail {
// Trainer(logger=true): Lightning's default, TensorBoardLogger(save_dir=default_root_dir).
std::shared_ptr<Logger> default_logger(const std::string& root_dir) {
  return std::make_shared<loggers::TensorBoardLogger>(loggers::TensorBoardLoggerOptions{.save_dir = root_dir});
}
}  // namespace detail

namespace loggers {

namespace fs = std::filesystem;

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// torch.utils.tensorboard's _global_uid: the last field of event file names, per process.
std::atomic<int64_t> g_event_file_uid{0};

std::string event_file_name() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%010lld", static_cast<long long>(now_seconds()));
  return std::string("events.out.tfevents.") + seconds + "." + host + "." + std::to_string(::getpid()) + "." +
         std::to_string(g_event_file_uid.fetch_add(1));
}
}  // namespace

TensorBoardLogger::TensorBoardLogger(TensorBoardLoggerOptions options) : options_(std::move(options)) {
  detail::check_version(options_.version, "TensorBoardLogger");
  if (options_.log_graph) {
    rank_zero_printf("warning: TensorBoardLogger(log_graph=True) is not supported yet (no traced GraphDef); the "
                     "graph is not logged\n");
  }
}

TensorBoardLogger::~TensorBoardLogger() = default;

Value TensorBoardLogger::version() const {
  if (!version_) {
    version_ = options_.version.is_none() ? Value(detail::next_version(*root_dir())) : options_.version;
  }
  return *version_;
}

std::optional<std::string> TensorBoardLogger::root_dir() const {
  return detail::join_path(options_.save_dir, options_.name);
}

std::optional<std::string> TensorBoardLogger::log_dir() const {
  std::string dir = detail::join_path(*root_dir(), detail::version_folder(version()));
  if (options_.sub_dir) dir = detail::join_path(dir, *options_.sub_dir);
  return dir;
}

std::string TensorBoardLogger::event_file() const { return writer_ ? writer_->path() : ""; }

// Lightning's `experiment`: the SummaryWriter, made at first use; it creates the folder and
// the event file, whose first record is the file_version event.
TFRecordWriter& TensorBoardLogger::experiment() {
  if (writer_ && !writer_->closed()) return *writer_;
  const std::string dir = *log_dir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  FULGUR_CHECK(!ec, "TensorBoardLogger", "cannot create '", dir, "': ", ec.message());
  writer_ = std::make_unique<TFRecordWriter>(detail::join_path(dir, event_file_name()));
  writer_->write(tensorboard::file_version_event(now_seconds()));
  return *writer_;
}

void TensorBoardLogger::add_scalar(const std::string& tag, double value, std::optional<int64_t> global_step) {
  experiment().write(tensorboard::scalar_event(tag, value, global_step, now_seconds()));
}

void TensorBoardLogger::add_text(const std::string& tag, const std::string& text, std::optional<int64_t> global_step) {
  experiment().write(tensorboard::text_event(tag, text, global_step, now_seconds()));
}

void TensorBoardLogger::log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) {
  for (const auto& [k, v] : detail::add_prefix(metrics, options_.prefix)) add_scalar(k, v, step);
}

void TensorBoardLogger::log_hyperparams(const Value& params) {
  detail::update_dict(hparams_, params);
  if (!options_.default_hp_metric) return;  // Lightning: no metrics, nothing written
  write_hparams_records(params, {{"hp_metric", -1.0}}, std::nullopt);
}

void TensorBoardLogger::log_hyperparams(const Value& params, const std::map<std::string, double>& metrics,
                                        std::optional<int64_t> step) {
  detail::update_dict(hparams_, params);
  if (metrics.empty()) return;
  write_hparams_records(params, metrics, step);
}

void TensorBoardLogger::write_hparams_records(const Value& params, const std::map<std::string, double>& metrics,
                                              std::optional<int64_t> step) {
  const Value flat = detail::sanitize_params(detail::flatten_params(params));
  log_metrics(metrics, step);
  std::vector<std::string> tags;
  for (const auto& [k, v] : metrics) tags.push_back(k);  // metric_dict's keys, without the prefix
  for (const std::string& record : tensorboard::hparams_events(flat, tags, step, now_seconds())) {
    experiment().write(record);
  }
}

// Lightning: flush the writer (made now if it was not: the run folder and event file appear;
// a closed one stays closed, as SummaryWriter.flush after close does nothing), then write
// hparams.yaml once, when the run folder exists.
void TensorBoardLogger::save() {
  if (!writer_) experiment();
  if (!writer_->closed()) writer_->flush();
  const std::string dir = *log_dir();
  const std::string path = detail::join_path(dir, kHParamsFile);
  std::error_code ec;
  if (fs::is_directory(dir, ec) && !fs::exists(path, ec)) detail::save_hparams_to_yaml(path, hparams_);
}

void TensorBoardLogger::finalize(const std::string& status) {
  if (writer_ && !writer_->closed()) {
    writer_->flush();
    writer_->close();
  }
  if (status == "success") save();
}

}  // namespace loggers
}  // namespace fulgur::lightning
