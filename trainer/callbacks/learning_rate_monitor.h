// L::callbacks::LearningRateMonitor (lightning.pytorch.callbacks.LearningRateMonitor,
// Lightning 2.x): logs each optimizer's learning rate (and optionally momentum and weight
// decay) straight to the Trainer's loggers, at the step or epoch interval of its scheduler.
//
//   auto lr_monitor = std::make_shared<L::callbacks::LearningRateMonitor>(
//       L::callbacks::LearningRateMonitorOptions{.logging_interval = "step"});
//   L::Trainer trainer({.callbacks = {lr_monitor}, .logger = csv_logger});
//
// Keys, as Lightning names them: "lr-<Optimizer>" ("lr-Adam"), "/pg1", "/pg2", ... with
// several param groups (or "/<name>" for a group with a "name" option), "-1", "-2", ... for
// further optimizers of the same class, the scheduler config's `name` instead of
// "lr-<Optimizer>" when given; "-momentum" and "-weight_decay" appended for those values
// (Adam-like optimizers log betas[0] as the momentum). Values go out with the step the
// Trainer's own logging uses (batches that stepped), and into trainer.callback_metrics().
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/optim/optimizer.h"
#include "fulgur/trainer/callback.h"
#include "fulgur/trainer/optimizer_config.h"

namespace fulgur::lightning::callbacks {

// Lightning's LearningRateMonitor arguments, names, order and defaults.
struct LearningRateMonitorOptions {
  // nullopt: each scheduler at its own interval ("step" schedulers at batch starts, "epoch"
  // ones at epoch starts; optimizers without a scheduler at both); "step" or "epoch": all of
  // them at that interval.
  std::optional<std::string> logging_interval = std::nullopt;
  bool log_momentum = false;      // also "<key>-momentum" (momentum, or betas[0]; 0 if neither)
  bool log_weight_decay = false;  // also "<key>-weight_decay"
};

class LearningRateMonitor : public Callback {
 public:
  explicit LearningRateMonitor(LearningRateMonitorOptions options = {});

  std::string state_key() const override { return "LearningRateMonitor"; }
  // Checks that the Trainer has a logger and settles the keys.
  void on_train_start(Trainer& trainer, LightningModule&) override;
  // Interval "step": logs when the Trainer's logging is due (log_every_n_steps).
  void on_train_batch_start(Trainer& trainer, LightningModule&, const Batch&, int64_t batch_idx) override;
  void on_train_epoch_start(Trainer& trainer, LightningModule&) override;

  const LearningRateMonitorOptions& options() const { return options_; }
  // Every learning rate logged, per key (Lightning's `lrs`).
  const std::map<std::string, std::vector<double>>& lrs() const { return lrs_; }
  // The last momentum / weight decay logged per "<key>-momentum" / "<key>-weight_decay"
  // (nullopt until logged).
  const std::map<std::string, std::optional<double>>& last_momentum_values() const { return last_momentum_; }
  const std::map<std::string, std::optional<double>>& last_weight_decay_values() const { return last_weight_decay_; }

 private:
  // Keys for the param groups of each optimizer (Lightning's _find_names_*), in the order of
  // the schedulers, then of the optimizers without a scheduler.
  struct Names {
    std::vector<std::vector<std::string>> scheduler_keys;  // one per lr_scheduler_configs() entry
    std::vector<optim::Optimizer*> unscheduled;            // optimizers without a scheduler
    std::vector<std::vector<std::string>> unscheduled_keys;
  };
  Names find_names(Trainer& trainer) const;
  // Logs the stats of the schedulers at `interval` ("step", "epoch" or "any") and of the
  // optimizers without a scheduler.
  void log_stats(Trainer& trainer, const std::string& interval);
  std::map<std::string, double> optimizer_stats(const optim::Optimizer& optimizer,
                                                const std::vector<std::string>& keys);
  // Lightning's _remap_keys: a key gaining "/pg1" (a param group was added) keeps its history.
  void remap_keys(const std::vector<std::vector<std::string>>& keys);

  LearningRateMonitorOptions options_;
  std::map<std::string, std::vector<double>> lrs_;
  std::map<std::string, std::optional<double>> last_momentum_;
  std::map<std::string, std::optional<double>> last_weight_decay_;
};

}  // namespace fulgur::lightning::callbacks
