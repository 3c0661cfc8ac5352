#include "fulgur/trainer/loggers/csv_logger.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/trainer/loggers/logger_params.h"
#include "fulgur/trainer/loggers/version_dirs.h"
#include "fulgur/trainer/rank_zero.h"

namespace fulgur::lightning::loggers {

namespace fs = std::filesystem;

namespace {
// Python csv's QUOTE_MINIMAL: quote a field holding the delimiter, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
  return line + "\r\n";
}

std::string csv_row(const std::vector<std::string>& keys, const std::map<std::string, std::string>& row) {
  std::vector<std::string> fields;
  for (const std::string& k : keys) {
    auto it = row.find(k);
    fields.push_back(it == row.end() ? "" : it->second);
  }
  return csv_line(fields);
}

void append_file(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  FULGUR_CHECK(fd >= 0, "CSVLogger.save", "cannot open '", path, "': ", std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      FULGUR_CHECK(false, "CSVLogger.save", "cannot write '", path, "': ", std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}
}  // namespace

CSVLogger::CSVLogger(CSVLoggerOptions options) : options_(std::move(options)) {
  detail::check_version(options_.version, "CSVLogger");
  FULGUR_CHECK(options_.flush_logs_every_n_steps >= 1, "CSVLogger", "flush_logs_every_n_steps must be >= 1, got ",
               options_.flush_logs_every_n_steps);
}

Value CSVLogger::version() const {
  if (!version_) {
    version_ = options_.version.is_none() ? Value(detail::next_version(*root_dir())) : options_.version;
  }
  return *version_;
}

std::optional<std::string> CSVLogger::root_dir() const { return detail::join_path(options_.save_dir, options_.name); }

std::optional<std::string> CSVLogger::log_dir() const {
  return detail::join_path(*root_dir(), detail::version_folder(version()));
}

std::string CSVLogger::metrics_path() const { return detail::join_path(*log_dir(), kMetricsFile); }

// Lightning's `experiment` property: the run folder is made at first use; a metrics.csv left
// there by an earlier run with the same version is removed (with Lightning's warning).
void CSVLogger::ensure_experiment() {
  if (experiment_) return;
  const std::string dir = *log_dir();
  std::error_code ec;
  if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec)) {
    rank_zero_printf(
        "warning: Experiment logs directory %s exists and is not empty. Previous log files in this directory "
        "will be deleted when the new ones are saved!\n",
        dir.c_str());
    fs::remove(metrics_path(), ec);
  }
  fs::create_directories(dir, ec);
  FULGUR_CHECK(!ec, "CSVLogger", "cannot create '", dir, "': ", ec.message());
  experiment_ = true;
}

void CSVLogger::log_metrics(const std::map<std::string, double>& metrics, std::optional<int64_t> step) {
  ensure_experiment();
  const int64_t s = step.value_or(static_cast<int64_t>(rows_.size() - saved_rows_));
  std::map<std::string, std::string> row;
  for (const auto& [key, value] : metrics) {
    // Lightning logs the epoch as a Python int; every other metric went through a tensor.
    const std::string k = options_.prefix.empty() ? key : options_.prefix + "-" + key;
    row[k] = detail::csv_number(value, key == "epoch");
  }
  row["step"] = std::to_string(s);
  rows_.push_back(std::move(row));
  if ((s + 1) % options_.flush_logs_every_n_steps == 0) save();
}

void CSVLogger::log_hyperparams(const Value& params) {
  ensure_experiment();
  detail::update_dict(hparams_, params);
  detail::save_hparams_to_yaml(detail::join_path(*log_dir(), kHParamsFile), hparams_);
}

void CSVLogger::save() {
  ensure_experiment();
  if (saved_rows_ == rows_.size()) return;
  std::set<std::string> known(keys_.begin(), keys_.end());
  bool new_keys = false;
  for (size_t i = saved_rows_; i < rows_.size(); ++i) {
    for (const auto& [k, v] : rows_[i]) {
      if (known.insert(k).second) {
        keys_.push_back(k);
        new_keys = true;
      }
    }
  }
  std::sort(keys_.begin(), keys_.end());
  const std::string path = metrics_path();
  std::error_code ec;
  if (new_keys || !file_written_ || !fs::exists(path, ec)) {
    // A new header: the whole file again (Lightning rewrites it), atomically.
    std::string text = csv_line(keys_);
    for (const auto& row : rows_) text += csv_row(keys_, row);
    serialize::write_file_atomic(path, text, "CSVLogger.save");
    file_written_ = true;
  } else {
    std::string text;
    for (size_t i = saved_rows_; i < rows_.size(); ++i) text += csv_row(keys_, rows_[i]);
    append_file(path, text);
  }
  saved_rows_ = rows_.size();
}

void CSVLogger::finalize(const std::string& /*status*/) {
  if (!experiment_) return;  // nothing was logged: Lightning leaves no files either
  save();
}

}  // namespace fulgur::lightning::loggers
