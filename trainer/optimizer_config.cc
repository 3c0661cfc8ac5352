#include "fulgur/trainer/optimizer_config.h"

#include "fulgur/kernels/error.h"

namespace fulgur::lightning {

void Scheduler::step(std::optional<double> metric) {
  FULGUR_CHECK(defined(), "lr_scheduler_step", "no scheduler");
  if (plateau_) {
    FULGUR_CHECK(metric.has_value(), "lr_scheduler_step", "ReduceLROnPlateau needs the monitored metric");
    plateau_->step(*metric);
  } else {
    lr_->step();
  }
}

optim::Optimizer& Scheduler::optimizer() const {
  FULGUR_CHECK(defined(), "Scheduler", "no scheduler");
  return plateau_ ? plateau_->optimizer() : lr_->optimizer();
}

Value Scheduler::state_dict() const {
  if (plateau_) return plateau_->state_dict();
  return lr_ ? lr_->state_dict() : Value();
}

void Scheduler::load_state_dict(const Value& state) {
  if (plateau_) plateau_->load_state_dict(state);
  else if (lr_) lr_->load_state_dict(state);
}

OptimizerConfig::OptimizerConfig(std::shared_ptr<optim::Optimizer> opt, LRSchedulerConfig scheduler) {
  optimizers_.push_back(std::move(opt));
  schedulers_.push_back(std::move(scheduler));
}

OptimizerConfig::OptimizerConfig(std::vector<std::shared_ptr<optim::Optimizer>> optimizers,
                                 std::vector<LRSchedulerConfig> schedulers)
    : optimizers_(std::move(optimizers)), schedulers_(std::move(schedulers)) {}

void OptimizerConfig::validate() const {
  for (const auto& o : optimizers_) {
    FULGUR_CHECK(o != nullptr, "configure_optimizers", "returned a null optimizer");
  }
  for (const LRSchedulerConfig& c : schedulers_) {
    FULGUR_CHECK(c.scheduler.defined(), "configure_optimizers",
                 "The lr scheduler config must include a scheduler (`.scheduler = ...`)");
    FULGUR_CHECK(c.interval == "step" || c.interval == "epoch", "configure_optimizers",
                 "The \"interval\" key in lr scheduler dict must be \"step\" or \"epoch\" but is \"", c.interval, "\"");
    FULGUR_CHECK(c.frequency >= 1, "configure_optimizers", "the lr scheduler's frequency must be >= 1, got ",
                 c.frequency);
    FULGUR_CHECK(!c.scheduler.is_plateau() || !c.monitor.empty(), "configure_optimizers",
                 "The lr scheduler dict must include a monitor when a `ReduceLROnPlateau` scheduler is used. "
                 "For example: {.scheduler = plateau, .monitor = \"metric_to_track\"}");
    bool found = false;
    for (const auto& o : optimizers_) found = found || o.get() == &c.scheduler.optimizer();
    FULGUR_CHECK(found, "configure_optimizers",
                 "a scheduler was built on an optimizer that configure_optimizers did not return; hint: build "
                 "the optimizer with std::make_shared and the scheduler on *that optimizer");
  }
}

}  // namespace fulgur::lightning
