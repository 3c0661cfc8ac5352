#include "fulgur/trainer/callbacks/timer.h"

#include <chrono>
#include <cstdio>
#include <regex>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

namespace {

// Lightning's RunningStage values, in its order (the keys of state_dict's "time_elapsed").
constexpr const char* kStages[] = {"train", "sanity_check", "validate", "test", "predict"};

double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const std::string& checked_stage(const std::string& stage) {
  for (const char* s : kStages) {
    if (stage == s) return stage;
  }
  FULGUR_FAIL("Timer", "'", stage, "' is not a valid RunningStage (hint: use \"train\", \"sanity_check\", "
              "\"validate\", \"test\" or \"predict\")");
}

// Python's str(timedelta(seconds=s)) for whole non-negative seconds: "1 day, 2:03:04".
std::string timedelta_str(int64_t s) {
  const int64_t days = s / 86400;
  s %= 86400;
  char hms[32];
  std::snprintf(hms, sizeof hms, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  if (days == 0) return hms;
  return std::to_string(days) + (days == 1 ? " day, " : " days, ") + hms;
}

double parse_dd_hh_mm_ss(const std::string& text) {
  // Lightning's format: days (any digits), then two-digit hours, minutes and seconds.
  static const std::regex format(R"(\s*(\d+):(\d\d):(\d\d):(\d\d)\s*)");
  std::smatch m;
  FULGUR_CHECK(std::regex_match(text, m, format), "Timer", "`Timer(duration='", text,
               "')` is not a valid duration. Expected DD:HH:MM:SS format (hint: \"00:12:00:00\" is 12 hours; "
               "or pass seconds or a TimeDelta)");
  return TimeDelta{.days = std::stod(m[1]), .hours = std::stod(m[2]), .minutes = std::stod(m[3]),
                   .seconds = std::stod(m[4])}
      .total_seconds();
}

}  // namespace

double TimeDelta::total_seconds() const {
  return weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds + milliseconds * 1e-3 +
         microseconds * 1e-6;
}

TimerDuration::TimerDuration(const char* dd_hh_mm_ss) : seconds_(parse_dd_hh_mm_ss(dd_hh_mm_ss)) {}
TimerDuration::TimerDuration(const std::string& dd_hh_mm_ss) : seconds_(parse_dd_hh_mm_ss(dd_hh_mm_ss)) {}

Timer::Timer(TimerOptions options) : options_(std::move(options)) {
  FULGUR_CHECK(options_.interval == "step" || options_.interval == "epoch", "Timer",
               "Unsupported parameter value `Timer(interval=", options_.interval,
               ")`. Possible choices are: step, epoch");
  if (options_.duration) duration_ = options_.duration->total_seconds();
  for (const char* s : kStages) {
    start_[s] = std::nullopt;
    end_[s] = std::nullopt;
  }
}

std::optional<double> Timer::start_time(const std::string& stage) const { return start_.at(checked_stage(stage)); }

std::optional<double> Timer::end_time(const std::string& stage) const { return end_.at(checked_stage(stage)); }

double Timer::time_elapsed(const std::string& stage) const {
  const std::optional<double> start = start_time(stage);
  const std::optional<double> end = end_time(stage);
  const double offset = stage == "train" ? offset_ : 0.0;
  if (!start) return offset;
  if (!end) return monotonic() - *start + offset;
  return *end - *start + offset;
}

std::optional<double> Timer::time_remaining(const std::string& stage) const {
  if (!duration_) return std::nullopt;
  return *duration_ - time_elapsed(stage);
}

Value Timer::state_dict() const {
  Value elapsed = Value::dict();
  for (const char* s : kStages) elapsed.set(s, time_elapsed(s));
  return Value::dict().set("time_elapsed", elapsed);
}

void Timer::load_state_dict(const Value& state) {
  FULGUR_CHECK(state.is_dict(), "Timer.load_state_dict", "expected a dict, got ", state.type_name());
  // Lightning: missing keys mean no elapsed time.
  const Value* elapsed = state.find("time_elapsed");
  if (elapsed == nullptr) {
    offset_ = 0;
    return;
  }
  FULGUR_CHECK(elapsed->is_dict(), "Timer.load_state_dict", "'time_elapsed' must be a dict, got ",
               elapsed->type_name());
  const Value* train = elapsed->find("train");
  offset_ = train != nullptr ? train->to_double() : 0.0;
}

void Timer::on_train_start(Trainer&, LightningModule&) { start_["train"] = monotonic(); }
void Timer::on_train_end(Trainer&, LightningModule&) { end_["train"] = monotonic(); }
void Timer::on_validation_start(Trainer&, LightningModule&) { start_["validate"] = monotonic(); }
void Timer::on_validation_end(Trainer&, LightningModule&) { end_["validate"] = monotonic(); }
void Timer::on_test_start(Trainer&, LightningModule&) { start_["test"] = monotonic(); }
void Timer::on_test_end(Trainer&, LightningModule&) { end_["test"] = monotonic(); }

void Timer::on_fit_start(Trainer& trainer, LightningModule&) {
  // After a resume the restored time may already be spent, whatever the interval.
  if (duration_) check_time_remaining(trainer);
}

void Timer::on_train_batch_end(Trainer& trainer, LightningModule&, const Value&, const Batch&, int64_t) {
  if (options_.interval == "step" && duration_) check_time_remaining(trainer);
}

void Timer::on_train_epoch_end(Trainer& trainer, LightningModule&) {
  if (options_.interval == "epoch" && duration_) check_time_remaining(trainer);
}

void Timer::check_time_remaining(Trainer& trainer) {
  const bool should_stop = time_elapsed() >= *duration_;
  trainer.should_stop(trainer.should_stop() || should_stop);
  if (should_stop && options_.verbose) {
    rank_zero_printf("Time limit reached. Elapsed time is %s. Signaling Trainer to stop.\n",
                     timedelta_str(static_cast<int64_t>(time_elapsed())).c_str());
  }
}

}  // namespace fulgur::lightning::callbacks
