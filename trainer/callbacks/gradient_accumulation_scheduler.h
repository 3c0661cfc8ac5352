// L::callbacks::GradientAccumulationScheduler
// (lightning.pytorch.callbacks.GradientAccumulationScheduler, Lightning 2.x): changes the
// Trainer's gradient accumulation factor by epoch. Epochs are zero-indexed; a schedule that
// does not start at epoch 0 accumulates 1 batch until its first epoch.
//
//   // from the 5th epoch (index 4) on, one optimizer step every 2 batches; every 4 from the 9th
//   auto accumulator = std::make_shared<L::callbacks::GradientAccumulationScheduler>(
//       L::callbacks::GradientAccumulationSchedulerOptions{.scheduling = {{4, 2}, {8, 4}}});
//   L::Trainer trainer({.callbacks = {accumulator}});
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fulgur/trainer/callback.h"

namespace fulgur::lightning::callbacks {

// Lightning's GradientAccumulationScheduler argument.
struct GradientAccumulationSchedulerOptions {
  std::map<int64_t, int64_t> scheduling;  // {epoch: accumulation factor}
};

class GradientAccumulationScheduler : public Callback {
 public:
  // Throws for an empty schedule, a negative epoch or a factor below 1 (Lightning's messages).
  explicit GradientAccumulationScheduler(GradientAccumulationSchedulerOptions options);

  std::string state_key() const override { return "GradientAccumulationScheduler"; }
  // Lightning's checks: automatic optimization, and no Trainer(accumulate_grad_batches != 1).
  void on_train_start(Trainer& trainer, LightningModule& module) override;
  // Sets trainer.accumulate_grad_batches for the epoch.
  void on_train_epoch_start(Trainer& trainer, LightningModule&) override;

  // The schedule, with {0: 1} added when it does not start at epoch 0.
  const std::map<int64_t, int64_t>& scheduling() const { return scheduling_; }
  const std::vector<int64_t>& epochs() const { return epochs_; }
  bool going_to_accumulate_grad_batches() const;
  // The factor for an epoch: the value of the last scheduled epoch <= epoch.
  int64_t get_accumulate_grad_batches(int64_t epoch) const;

 private:
  std::map<int64_t, int64_t> scheduling_;
  std::vector<int64_t> epochs_;
};

}  // namespace fulgur::lightning::callbacks
