// L::profilers::Profiler: Lightning's profiler interface (lightning.pytorch.profilers). The
// Trainer names what it runs ("[LightningModule]LitModel.training_step", "run_training_batch",
// "[_TrainingEpochLoop].train_dataloader_next", ...) and brackets each with start/stop; after a
// successful fit/validate/test/predict it calls describe(), which writes summary() to
// `<dirpath>/<stage>-<filename>[-<local rank>].txt` (appended) or prints it.
//
// PassThroughProfiler is the Trainer's default: it records nothing, and the Trainer does not
// even build the action names for it (enabled() is false).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fulgur::lightning::profilers {

class Profiler;

// Lightning's `with profiler.profile(name):` — stops the action when the scope ends, also when
// it ends by an exception. An empty scope (no profiler) does nothing.
class ProfileScope {
 public:
  ProfileScope() = default;
  ProfileScope(Profiler* profiler, std::string action);
  ~ProfileScope();
  ProfileScope(ProfileScope&& other) noexcept;
  ProfileScope& operator=(ProfileScope&&) = delete;
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;
  // Ends the action unrecorded (a hook the module turned out not to implement, which Lightning
  // would not have called).
  void cancel();

 private:
  Profiler* profiler_ = nullptr;
  std::string action_;
};

struct ProfilerOptions {
  // The folder of the report file; "" with a filename: the Trainer's log_dir.
  std::string dirpath = "";
  // The report goes to "<stage>-<filename>[-<rank>].txt"; "" prints it instead.
  std::string filename = "";
};

class Profiler {
 public:
  explicit Profiler(ProfilerOptions options = {});
  virtual ~Profiler() = default;

  virtual void start(const std::string& action_name) = 0;
  virtual void stop(const std::string& action_name) = 0;
  // Ends a started action without recording it (default: stop).
  virtual void cancel(const std::string& action_name) { stop(action_name); }
  // The report; "" writes nothing.
  virtual std::string summary() { return ""; }
  // Whether the Trainer should name and report its actions at all.
  virtual bool enabled() const { return true; }

  [[nodiscard]] ProfileScope profile(std::string action_name) { return ProfileScope(this, std::move(action_name)); }

  // Writes summary() to the report file (appending) or to stderr, as Lightning's log.info does
  // (local rank 0 only).
  void describe();
  // Called by the Trainer at the start of each run: the stage ("fit", "validate", ...), the
  // local rank in a job of several processes (else none) and the Trainer's log_dir.
  virtual void setup(const std::string& stage, std::optional<int64_t> local_rank, const std::string& log_dir);

  const std::string& dirpath() const { return options_.dirpath; }
  const std::string& filename() const { return options_.filename; }
  const std::optional<std::string>& stage() const { return stage_; }
  int64_t local_rank() const { return local_rank_.value_or(0); }
  // Lightning's _prepare_filename: "<stage>-<filename>-<rank>.txt", the parts that exist.
  std::string report_filename() const;

 private:
  ProfilerOptions options_;
  std::optional<std::string> stage_;
  std::optional<int64_t> local_rank_;
};

// Lightning's PassThroughProfiler: records nothing (the Trainer's default).
class PassThroughProfiler : public Profiler {
 public:
  PassThroughProfiler() = default;
  void start(const std::string&) override {}
  void stop(const std::string&) override {}
  bool enabled() const override { return false; }
};

}  // namespace fulgur::lightning::profilers
