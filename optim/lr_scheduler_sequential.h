// SequentialLR (PyTorch 1.13): runs schedulers one after another, switching at milestones
// (e.g. a LinearLR warm-up, then CosineAnnealingLR). At a milestone the next scheduler
// starts from its epoch 0 (step(0), its closed form). Build the schedulers on the same
// optimizer first, in order; SequentialLR then resets the lrs to their initial values and
// replays the first scheduler's first step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fulgur/optim/lr_scheduler.h"

namespace fulgur::optim {

// optim::SequentialLR(opt, {.schedulers = {warmup, cosine}, .milestones = {5}})
struct SequentialLROptions {
  std::vector<std::shared_ptr<LRScheduler>> schedulers;
  std::vector<int64_t> milestones;  // one fewer than schedulers, increasing
  int64_t last_epoch = -1;
};

class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, SequentialLROptions options);
  void step() override;
  void step(double epoch) override;  // not supported (as in PyTorch): throws
  const std::vector<std::shared_ptr<LRScheduler>>& schedulers() const { return schedulers_; }
  // {"_milestones", "last_epoch", "_last_lr", "_schedulers": [each scheduler's state_dict()]}
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override { return last_lr_; }

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

}  // namespace fulgur::optim
