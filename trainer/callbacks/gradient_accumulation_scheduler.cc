#include "fulgur/trainer/callbacks/gradient_accumulation_scheduler.h"

#include <algorithm>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

namespace {
// Python's repr of a list of ints: [0, 4].
std::string list_repr(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}
}  // namespace

GradientAccumulationScheduler::GradientAccumulationScheduler(GradientAccumulationSchedulerOptions options)
    : scheduling_(std::move(options.scheduling)) {
  FULGUR_CHECK(!scheduling_.empty(), "GradientAccumulationScheduler",
               "Empty dict cannot be interpreted correct (hint: pass {epoch: factor}, e.g. {{0, 2}})");
  std::vector<int64_t> keys, values;
  for (const auto& [epoch, factor] : scheduling_) {
    keys.push_back(epoch);
    values.push_back(factor);
  }
  FULGUR_CHECK(std::all_of(keys.begin(), keys.end(), [](int64_t k) { return k >= 0; }),
               "GradientAccumulationScheduler", "Epoch should be an int greater than or equal to 0. Got ",
               list_repr(keys), ".");
  FULGUR_CHECK(std::all_of(values.begin(), values.end(), [](int64_t v) { return v >= 1; }),
               "GradientAccumulationScheduler", "Accumulation factor should be an int greater than 0. Got ",
               list_repr(values), ".");
  // Lightning: without an entry for epoch 0, the first epochs do not accumulate.
  if (scheduling_.begin()->first != 0) scheduling_.emplace(0, 1);
  for (const auto& [epoch, factor] : scheduling_) epochs_.push_back(epoch);
}

bool GradientAccumulationScheduler::going_to_accumulate_grad_batches() const {
  return std::any_of(scheduling_.begin(), scheduling_.end(), [](const auto& kv) { return kv.second > 1; });
}

int64_t GradientAccumulationScheduler::get_accumulate_grad_batches(int64_t epoch) const {
  for (auto it = epochs_.rbegin(); it != epochs_.rend(); ++it) {
    if (epoch >= *it) return scheduling_.at(*it);
  }
  return 1;
}

void GradientAccumulationScheduler::on_train_start(Trainer& trainer, LightningModule& module) {
  FULGUR_CHECK(module.automatic_optimization(), "GradientAccumulationScheduler",
               "Automatic gradient accumulation and the `GradientAccumulationScheduler` is not supported for manual "
               "optimization. Please remove the callback or switch to automatic optimization.");
  // Lightning also warns when optimizer_step/optimizer_zero_grad are overridden; C++ cannot
  // tell whether a virtual is overridden (docs/TRAINER.md, deliberate differences).
  FULGUR_CHECK(trainer.accumulate_grad_batches() == 1, "GradientAccumulationScheduler",
               "You have set `accumulate_grad_batches` and are using the `GradientAccumulationScheduler` callback. "
               "Either remove `accumulate_grad_batches` from the Trainer or remove the callback.");
}

void GradientAccumulationScheduler::on_train_epoch_start(Trainer& trainer, LightningModule&) {
  trainer.accumulate_grad_batches(get_accumulate_grad_batches(trainer.current_epoch()));
}

}  // namespace fulgur::lightning::callbacks
