// OneCycleLR (PyTorch 1.13): the 1cycle policy, stepped once per batch. The lr anneals from
// max_lr / div_factor up to max_lr over the first pct_start of total_steps, then down to
// max_lr / div_factor / final_div_factor (three_phase: back to the initial lr first, then
// down). With cycle_momentum the momentum (SGD, RMSprop) or Adam's beta1 cycles inversely,
// between max_momentum and base_momentum. The groups' options get PyTorch's keys initial_lr,
// max_lr, min_lr, max_momentum and base_momentum.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/optim/lr_scheduler.h"

namespace fulgur::optim {

enum class AnnealStrategy { Cos, Linear };

// optim::OneCycleLR(opt, {.max_lr = {0.1}, .total_steps = 1000})
// Give total_steps, or epochs and steps_per_epoch (total_steps = epochs * steps_per_epoch).
struct OneCycleLROptions {
  std::vector<double> max_lr;  // required: one for all groups or one per group
  std::optional<int64_t> total_steps = std::nullopt;
  std::optional<int64_t> epochs = std::nullopt;
  std::optional<int64_t> steps_per_epoch = std::nullopt;
  double pct_start = 0.3;
  AnnealStrategy anneal_strategy = AnnealStrategy::Cos;
  bool cycle_momentum = true;
  std::vector<double> base_momentum = {0.85};  // one for all groups or one per group
  std::vector<double> max_momentum = {0.95};
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool three_phase = false;
  int64_t last_epoch = -1;
};

class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, OneCycleLROptions options);
  int64_t total_steps() const { return total_steps_; }
  // The annealing of [start, end] at pct in [0, 1].
  static double anneal(AnnealStrategy strategy, double start, double end, double pct);
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;

 private:
  // Up to end_step, anneal the group options start_* -> end_*.
  struct Phase {
    double end_step;
    bool end_step_is_int;  // the last phase's is total_steps - 1, an int in PyTorch's dict
    std::string start_lr, end_lr, start_momentum, end_momentum;
  };

  int64_t total_steps_;
  std::vector<Phase> phases_;
  AnnealStrategy strategy_;
  bool cycle_momentum_;
  bool use_beta1_ = false;  // Adam-like optimizers cycle betas[0]
};

}  // namespace fulgur::optim
