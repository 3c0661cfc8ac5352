// L::OptimizerConfig: what configure_optimizers returns, in Lightning's three shapes.
//
//   return optim::Adam(parameters(), {.lr = 1e-3});                       // one optimizer
//   auto opt = std::make_shared<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.1});
//   return {opt, {.scheduler = std::make_shared<optim::StepLR>(*opt, 10), .interval = "epoch"}};
//   return {opt, {.scheduler = std::make_shared<optim::ReduceLROnPlateau>(*opt), .monitor = "val_loss"}};
//   return {{opt_g, opt_d}};                                              // several (manual optimization)
//
// L::Scheduler holds either an epoch/step scheduler (optim::LRScheduler) or a
// ReduceLROnPlateau (stepped with the monitored metric).
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fulgur/optim/lr_scheduler.h"
#include "fulgur/optim/lr_scheduler_plateau.h"
#include "fulgur/optim/optimizer.h"

namespace fulgur::lightning {

class Scheduler {
 public:
  Scheduler() = default;
  template <std::derived_from<optim::LRScheduler> S>
  Scheduler(std::shared_ptr<S> s) : lr_(std::move(s)) {}  // NOLINT
  Scheduler(std::shared_ptr<optim::ReduceLROnPlateau> s) : plateau_(std::move(s)) {}  // NOLINT

  bool defined() const { return lr_ || plateau_; }
  bool is_plateau() const { return plateau_ != nullptr; }
  // step() for an LRScheduler; step(metric) for ReduceLROnPlateau (which needs it).
  void step(std::optional<double> metric = std::nullopt);
  optim::Optimizer& optimizer() const;
  Value state_dict() const;
  void load_state_dict(const Value& state);
  const std::shared_ptr<optim::LRScheduler>& lr_scheduler() const { return lr_; }
  const std::shared_ptr<optim::ReduceLROnPlateau>& plateau() const { return plateau_; }

 private:
  std::shared_ptr<optim::LRScheduler> lr_;
  std::shared_ptr<optim::ReduceLROnPlateau> plateau_;
};

// Lightning's lr_scheduler dict, with its defaults.
struct LRSchedulerConfig {
  Scheduler scheduler;
  std::string interval = "epoch";  // "epoch" or "step" (an optimizer step)
  int64_t frequency = 1;           // every `frequency` intervals
  std::string monitor = "";        // the metric ReduceLROnPlateau is stepped with (required for it)
  bool strict = true;              // a monitor never logged: error (true) or warning and skip
  std::string name = "";           // LearningRateMonitor's key; "" -> lr-<Optimizer>
};

class OptimizerConfig {
 public:
  OptimizerConfig() = default;  // no optimizer (Lightning warns and trains nothing)
  template <std::derived_from<optim::Optimizer> O>
    requires(!std::is_lvalue_reference_v<O>)
  OptimizerConfig(O&& opt) : OptimizerConfig(std::make_shared<O>(std::move(opt))) {}  // NOLINT
  template <std::derived_from<optim::Optimizer> O>
  OptimizerConfig(std::shared_ptr<O> opt) {  // NOLINT
    optimizers_.push_back(std::move(opt));
  }
  OptimizerConfig(std::shared_ptr<optim::Optimizer> opt, LRSchedulerConfig scheduler);
  // Several optimizers (and schedulers, matched to optimizers by the optimizer they hold).
  OptimizerConfig(std::vector<std::shared_ptr<optim::Optimizer>> optimizers,  // NOLINT
                  std::vector<LRSchedulerConfig> schedulers = {});

  const std::vector<std::shared_ptr<optim::Optimizer>>& optimizers() const { return optimizers_; }
  const std::vector<LRSchedulerConfig>& lr_schedulers() const { return schedulers_; }
  // Checks Lightning's rules: interval "step"/"epoch", frequency >= 1, a monitor exactly for
  // ReduceLROnPlateau, each scheduler on one of the optimizers. Throws fulgur::Error.
  void validate() const;

 private:
  std::vector<std::shared_ptr<optim::Optimizer>> optimizers_;
  std::vector<LRSchedulerConfig> schedulers_;
};

}  // namespace fulgur::lightning
