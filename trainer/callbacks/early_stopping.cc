#include "fulgur/trainer/callbacks/early_stopping.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <limits>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

namespace {

// Python's str() of a float closely enough for messages: shortest round-trip digits.
std::string num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::setprecision(std::numeric_limits<double>::max_digits10 - 2) << v;
  return os.str();
}

// f"{v:.3f}".
std::string fixed3(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::fixed << std::setprecision(3) << v;
  return os.str();
}

}  // namespace

const char* to_string(EarlyStoppingReason reason) {
  switch (reason) {
    case EarlyStoppingReason::NotStopped: return "not_stopped";
    case EarlyStoppingReason::StoppingThreshold: return "stopping_threshold";
    case EarlyStoppingReason::DivergenceThreshold: return "divergence_threshold";
    case EarlyStoppingReason::PatienceExhausted: return "patience_exhausted";
    case EarlyStoppingReason::NonFiniteMetric: return "non_finite_metric";
  }
  return "unknown";
}

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(std::move(options)), check_on_train_epoch_end_(options_.check_on_train_epoch_end) {
  FULGUR_CHECK(options_.mode == "min" || options_.mode == "max", "EarlyStopping",
               "`mode` can be min, max, got ", options_.mode, " (hint: pass .mode = \"min\" or \"max\")");
  FULGUR_CHECK(!options_.monitor.empty(), "EarlyStopping",
               "`monitor` is empty (hint: name the logged metric to watch, e.g. .monitor = \"val_loss\")");
  max_mode_ = options_.mode == "max";
  // Lightning stores min_delta signed so that `current - min_delta` must beat the best.
  min_delta_ = max_mode_ ? options_.min_delta : -options_.min_delta;
  best_score_ = max_mode_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

std::string EarlyStopping::state_key() const {
  return "EarlyStopping{'monitor': '" + options_.monitor + "', 'mode': '" + options_.mode + "'}";
}

Value EarlyStopping::state_dict() const {
  return Value::dict()
      .set("wait_count", wait_count_)
      .set("stopped_epoch", stopped_epoch_)
      .set("best_score", best_score_)
      .set("patience", options_.patience);
}

void EarlyStopping::load_state_dict(const Value& state) {
  FULGUR_CHECK(state.is_dict(), "EarlyStopping.load_state_dict", "expected a dict, got another kind of value");
  for (const char* key : {"wait_count", "stopped_epoch", "best_score", "patience"}) {
    FULGUR_CHECK(state.contains(key), "EarlyStopping.load_state_dict", "the state has no '", key,
                 "' (hint: was it saved by EarlyStopping with monitor '", options_.monitor, "'?)");
  }
  wait_count_ = state.find("wait_count")->as_int();
  stopped_epoch_ = state.find("stopped_epoch")->as_int();
  // Lightning saves best_score as a 0-d tensor; we save a float but read either.
  const Value& best = *state.find("best_score");
  best_score_ = best.is_tensor() ? best.as_tensor().item<double>() : best.to_double();
  options_.patience = state.find("patience")->as_int();
}

void EarlyStopping::setup(Trainer& trainer, LightningModule&, const std::string&) {
  if (check_on_train_epoch_end_) return;
  // Lightning: validating several times per epoch, or not every epoch, means checking after
  // each validation instead of at the epoch end.
  const TrainerOptions& o = trainer.options();
  const BatchLimit& vci = o.val_check_interval;
  const bool every_epoch_end = vci.is_count() ? vci.count() == 1 : vci.fraction() == 1.0;
  check_on_train_epoch_end_ = every_epoch_end && o.check_val_every_n_epoch == std::optional<int64_t>(1);
}

bool EarlyStopping::should_skip_check(const Trainer& trainer) const {
  return trainer.state().fn != "fit" || trainer.sanity_checking();
}

void EarlyStopping::on_train_epoch_end(Trainer& trainer, LightningModule&) {
  if (!check_on_train_epoch_end_.value_or(true) || should_skip_check(trainer)) return;
  run_early_stopping_check(trainer);
}

void EarlyStopping::on_validation_end(Trainer& trainer, LightningModule&) {
  if (check_on_train_epoch_end_.value_or(true) || should_skip_check(trainer)) return;
  run_early_stopping_check(trainer);
}

bool EarlyStopping::validate_condition_metric(const Trainer& trainer) {
  const auto& logs = trainer.callback_metrics();
  if (logs.count(options_.monitor) != 0) return true;
  std::string keys;
  for (const auto& [k, v] : logs) keys += (keys.empty() ? "`" : "`, `") + k;
  if (!keys.empty()) keys += "`";
  const std::string message = "Early stopping conditioned on metric `" + options_.monitor +
                              "` which is not available. Pass in or modify your `EarlyStopping` callback to use "
                              "any of the following: " + keys;
  FULGUR_CHECK(!options_.strict, "EarlyStopping", message,
               " (hint: log it with self.log(\"", options_.monitor, "\", ...), or set .strict = false)");
  // Lightning warns only when verbose (rank_zero_warn shows a message once).
  if (options_.verbose && !warned_missing_) {
    rank_zero_printf("warning: %s\n", message.c_str());
    warned_missing_ = true;
  }
  return false;
}

void EarlyStopping::run_early_stopping_check(Trainer& trainer) {
  if (trainer.options().fast_dev_run > 0 || !validate_condition_metric(trainer)) return;
  const double current = trainer.callback_metrics().at(options_.monitor);
  auto [should_stop, reason] = evaluate_stopping_criteria(current);
  // Lightning: stop when any process decided to (reduce_boolean_decision(all=False)), so that
  // every rank leaves the loop after the same epoch.
  should_stop = trainer.strategy().reduce_boolean_decision(should_stop, false);
  trainer.should_stop(trainer.should_stop() || should_stop);
  if (should_stop) {
    stopped_epoch_ = trainer.current_epoch();
    stopping_reason_message_ = reason;
  }
  if (!reason.empty() && options_.verbose) log_info(trainer, reason);
}

// Lightning's EarlyStopping._log_info: with several processes each rank prints, prefixed with
// its rank, unless log_rank_zero_only leaves it to rank 0.
void EarlyStopping::log_info(const Trainer& trainer, const std::string& message) const {
  if (trainer.world_size() <= 1) {
    std::fprintf(stderr, "%s\n", message.c_str());
  } else if (!options_.log_rank_zero_only || trainer.is_global_zero()) {
    std::fprintf(stderr, "[rank: %lld] %s\n", static_cast<long long>(trainer.global_rank()), message.c_str());
  }
}

std::pair<bool, std::string> EarlyStopping::evaluate_stopping_criteria(double current) {
  const std::string& m = options_.monitor;
  const char* order = max_mode_ ? ">" : "<";
  if (options_.check_finite && !std::isfinite(current)) {
    stopping_reason_ = EarlyStoppingReason::NonFiniteMetric;
    return {true, "Monitored metric " + m + " = " + num(current) + " is not finite. Previous best value was " +
                      fixed3(best_score_) + ". Signaling Trainer to stop."};
  }
  if (options_.stopping_threshold && improves(current, *options_.stopping_threshold)) {
    stopping_reason_ = EarlyStoppingReason::StoppingThreshold;
    return {true, "Stopping threshold reached: " + m + " = " + num(current) + " " + order + " " +
                      num(*options_.stopping_threshold) + ". Signaling Trainer to stop."};
  }
  // Lightning: monitor_op(-current, -divergence_threshold), i.e. worse than the threshold.
  if (options_.divergence_threshold && improves(-current, -*options_.divergence_threshold)) {
    stopping_reason_ = EarlyStoppingReason::DivergenceThreshold;
    return {true, "Divergence threshold reached: " + m + " = " + num(current) + " " + order + " " +
                      num(*options_.divergence_threshold) + ". Signaling Trainer to stop."};
  }
  if (improves(current - min_delta_, best_score_)) {
    std::string msg = std::isfinite(best_score_)
                          ? "Metric " + m + " improved by " + fixed3(std::abs(best_score_ - current)) +
                                " >= min_delta = " + num(std::abs(min_delta_)) + ". New best score: " + fixed3(current)
                          : "Metric " + m + " improved. New best score: " + fixed3(current);
    best_score_ = current;
    wait_count_ = 0;
    return {false, msg};
  }
  ++wait_count_;
  if (wait_count_ >= options_.patience) {
    stopping_reason_ = EarlyStoppingReason::PatienceExhausted;
    return {true, "Monitored metric " + m + " did not improve in the last " + std::to_string(wait_count_) +
                      " records. Best score: " + fixed3(best_score_) + ". Signaling Trainer to stop."};
  }
  return {false, ""};
}

}  // namespace fulgur::lightning::callbacks
