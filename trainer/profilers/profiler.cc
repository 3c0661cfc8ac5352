#include "fulgur/trainer/profilers/profiler.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"

namespace fulgur::lightning::profilers {

ProfileScope::ProfileScope(Profiler* profiler, std::string action) : profiler_(profiler), action_(std::move(action)) {
  if (profiler_ != nullptr) profiler_->start(action_);
}

ProfileScope::ProfileScope(ProfileScope&& other) noexcept
    : profiler_(std::exchange(other.profiler_, nullptr)), action_(std::move(other.action_)) {}

ProfileScope::~ProfileScope() {
  if (profiler_ == nullptr) return;
  try {
    profiler_->stop(action_);
  } catch (...) {
    // A stop that fails while an exception unwinds must not end the program; the action
    // simply goes unrecorded.
  }
}

void ProfileScope::cancel() {
  if (profiler_ != nullptr) std::exchange(profiler_, nullptr)->cancel(action_);
}

Profiler::Profiler(ProfilerOptions options) : options_(std::move(options)) {}

void Profiler::setup(const std::string& stage, std::optional<int64_t> local_rank, const std::string& log_dir) {
  stage_ = stage;
  local_rank_ = local_rank;
  if (options_.dirpath.empty()) options_.dirpath = log_dir;
}

std::string Profiler::report_filename() const {
  std::string name;
  auto add = [&](const std::string& part) { name += (name.empty() ? "" : "-") + part; };
  if (stage_) add(*stage_);
  if (!options_.filename.empty()) add(options_.filename);
  if (local_rank_) add(std::to_string(*local_rank_));
  return name + ".txt";
}

void Profiler::describe() {
  const std::string report = summary();
  if (report.empty()) return;
  if (options_.filename.empty() || options_.dirpath.empty()) {
    // Lightning logs it at INFO level from local rank 0 (its handler writes to stderr).
    if (local_rank() == 0) std::fputs(report.c_str(), stderr);
    return;
  }
  // Lightning opens the file in append mode: a second fit adds its report below the first.
  // Here the old text plus the new report replace the file atomically.
  std::error_code ec;
  std::filesystem::create_directories(options_.dirpath, ec);
  FULGUR_CHECK(!ec, "Profiler.describe", "cannot create the report folder '", options_.dirpath, "': ", ec.message(),
               "; hint: pass a writable dirpath");
  const std::string path = (std::filesystem::path(options_.dirpath) / report_filename()).string();
  std::string text;
  if (std::ifstream in(path, std::ios::binary); in) {
    std::ostringstream old;
    old << in.rdbuf();
    text = old.str();
  }
  serialize::write_file_atomic(path, text + report, "Profiler.describe");
}

}  // namespace fulgur::lightning::profilers
