// L::callbacks::Timer (lightning.pytorch.callbacks.Timer, Lightning 2.x): tracks the time
// spent in the train, validation and test loops and stops the fit (trainer.should_stop) once
// the training time reaches `duration`, checked after each training batch ("step") or at
// each training epoch end ("epoch"), and once at fit start (a resumed timer may be spent).
//
//   auto timer = std::make_shared<L::callbacks::Timer>(L::callbacks::TimerOptions{.duration = "00:12:00:00"});
//   L::Trainer trainer({.callbacks = {timer}});   // or L::Trainer({.max_time = "00:12:00:00"})
//   trainer.fit(model, train_dl);
//   double seconds = timer->time_elapsed("train");
#pragma once

#include <map>
#include <optional>
#include <string>
#include <type_traits>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/callback.h"

namespace fulgur::lightning::callbacks {

// The keywords of Python's timedelta(...) that a Lightning duration dict may hold, from the
// largest unit to the smallest (so that `{.days = 1, .hours = 2}` reads as written).
struct TimeDelta {
  double weeks = 0;
  double days = 0;
  double hours = 0;
  double minutes = 0;
  double seconds = 0;
  double milliseconds = 0;
  double microseconds = 0;

  double total_seconds() const;
};

// Lightning's Union[str, timedelta, dict]: a number of seconds, a "DD:HH:MM:SS" string
// (e.g. "00:12:00:00" = 12 hours) or a TimeDelta. A malformed string is a fulgur::Error.
class TimerDuration {
 public:
  template <typename T>
    requires std::is_arithmetic_v<T>
  TimerDuration(T seconds) : seconds_(static_cast<double>(seconds)) {}  // NOLINT
  TimerDuration(const char* dd_hh_mm_ss);                             // NOLINT
  TimerDuration(const std::string& dd_hh_mm_ss);                      // NOLINT
  TimerDuration(const TimeDelta& delta) : seconds_(delta.total_seconds()) {}  // NOLINT

  double total_seconds() const { return seconds_; }

 private:
  double seconds_ = 0;
};

// Lightning's Timer arguments, names, order and defaults.
struct TimerOptions {
  std::optional<TimerDuration> duration = std::nullopt;  // nullopt: measure only, never stop
  std::string interval = "step";                         // "step" or "epoch"
  bool verbose = true;                                   // print "Time limit reached. ..." (stderr)
};

class Timer : public Callback {
 public:
  explicit Timer(TimerOptions options = {});

  std::string state_key() const override { return "Timer"; }
  // {"time_elapsed": {"train": s, "sanity_check": s, "validate": s, "test": s, "predict": s}}.
  Value state_dict() const override;
  // Resumes the training clock: time_elapsed("train") starts from the saved value.
  void load_state_dict(const Value& state) override;

  // Stages are Lightning's RunningStage values: "train", "sanity_check", "validate", "test",
  // "predict" (only train, validate and test are timed, as in Lightning). Times are
  // std::chrono::steady_clock seconds (Python's time.monotonic()).
  std::optional<double> start_time(const std::string& stage = "train") const;
  std::optional<double> end_time(const std::string& stage = "train") const;
  // Seconds spent in the stage (still running: up to now); "train" includes a resumed offset.
  double time_elapsed(const std::string& stage = "train") const;
  // duration - time_elapsed(stage); nullopt without a duration.
  std::optional<double> time_remaining(const std::string& stage = "train") const;
  std::optional<double> duration() const { return duration_; }
  const std::string& interval() const { return options_.interval; }

  void on_train_start(Trainer&, LightningModule&) override;
  void on_train_end(Trainer&, LightningModule&) override;
  void on_validation_start(Trainer&, LightningModule&) override;
  void on_validation_end(Trainer&, LightningModule&) override;
  void on_test_start(Trainer&, LightningModule&) override;
  void on_test_end(Trainer&, LightningModule&) override;
  void on_fit_start(Trainer& trainer, LightningModule&) override;
  void on_train_batch_end(Trainer& trainer, LightningModule&, const Value& outputs, const Batch&,
                          int64_t batch_idx) override;
  void on_train_epoch_end(Trainer& trainer, LightningModule&) override;

 private:
  void check_time_remaining(Trainer& trainer);

  TimerOptions options_;
  std::optional<double> duration_;
  std::map<std::string, std::optional<double>> start_, end_;
  double offset_ = 0;  // training seconds of the run a checkpoint resumed
};

}  // namespace fulgur::lightning::callbacks
