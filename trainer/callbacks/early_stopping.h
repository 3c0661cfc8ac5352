// L::callbacks::EarlyStopping (lightning.pytorch.callbacks.EarlyStopping, Lightning 2.x):
// stops the fit when a monitored metric stops improving, reaches a threshold, diverges or
// becomes non-finite. It only sets trainer.should_stop(true); the Trainer still honours
// min_epochs / min_steps.
//
//   auto es = std::make_shared<L::callbacks::EarlyStopping>(
//       L::callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = 3});
//   L::Trainer trainer({.callbacks = {es}, .max_epochs = 100});
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/callback.h"

namespace fulgur::lightning::callbacks {

// Lightning's EarlyStopping arguments, names, order and defaults.
struct EarlyStoppingOptions {
  std::string monitor;
  double min_delta = 0.0;
  int64_t patience = 3;
  bool verbose = false;
  std::string mode = "min";  // "min" or "max"
  bool strict = true;        // a missing monitored metric is an error (false: warn once, skip)
  bool check_finite = true;  // stop when the metric is NaN or infinite
  std::optional<double> stopping_threshold = std::nullopt;
  std::optional<double> divergence_threshold = std::nullopt;
  // nullopt: decided at setup as Lightning does (val_check_interval == 1.0 and
  // check_val_every_n_epoch == 1 -> at train epoch end, else at validation end).
  std::optional<bool> check_on_train_epoch_end = std::nullopt;
  bool log_rank_zero_only = false;  // verbose lines from rank 0 only (else every rank, prefixed)
};

// Lightning's EarlyStoppingReason.
enum class EarlyStoppingReason {
  NotStopped,
  StoppingThreshold,
  DivergenceThreshold,
  PatienceExhausted,
  NonFiniteMetric,
};
const char* to_string(EarlyStoppingReason reason);

class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options);

  // "EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}", as Lightning's _generate_state_key.
  std::string state_key() const override;
  bool is_monitoring() const override { return true; }
  // {"wait_count", "stopped_epoch", "best_score", "patience"} (Lightning's keys).
  Value state_dict() const override;
  void load_state_dict(const Value& state) override;

  void setup(Trainer& trainer, LightningModule&, const std::string& stage) override;
  void on_train_epoch_end(Trainer& trainer, LightningModule&) override;
  void on_validation_end(Trainer& trainer, LightningModule&) override;

  const EarlyStoppingOptions& options() const { return options_; }
  const std::string& monitor() const { return options_.monitor; }
  int64_t patience() const { return options_.patience; }
  // Signed as Lightning stores it: negative in "min" mode.
  double min_delta() const { return min_delta_; }
  int64_t wait_count() const { return wait_count_; }
  int64_t stopped_epoch() const { return stopped_epoch_; }
  double best_score() const { return best_score_; }
  EarlyStoppingReason stopping_reason() const { return stopping_reason_; }
  // The message of the last check that decided something ("" when none).
  const std::string& stopping_reason_message() const { return stopping_reason_message_; }
  // What the last setup decided (nullopt before the first setup unless given).
  std::optional<bool> check_on_train_epoch_end() const { return check_on_train_epoch_end_; }

 private:
  bool should_skip_check(const Trainer& trainer) const;
  void run_early_stopping_check(Trainer& trainer);
  void log_info(const Trainer& trainer, const std::string& message) const;
  bool validate_condition_metric(const Trainer& trainer);
  // Lightning's _evaluate_stopping_criteria: (should_stop, reason message or "").
  std::pair<bool, std::string> evaluate_stopping_criteria(double current);
  bool improves(double a, double b) const { return max_mode_ ? a > b : a < b; }

  EarlyStoppingOptions options_;
  bool max_mode_ = false;
  double min_delta_ = 0.0;
  int64_t wait_count_ = 0;
  int64_t stopped_epoch_ = 0;
  double best_score_ = 0.0;
  EarlyStoppingReason stopping_reason_ = EarlyStoppingReason::NotStopped;
  std::string stopping_reason_message_;
  std::optional<bool> check_on_train_epoch_end_;
  bool warned_missing_ = false;
};

}  // namespace fulgur::lightning::callbacks
