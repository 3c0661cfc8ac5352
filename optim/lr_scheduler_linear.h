// LinearLR (PyTorch 1.13): the lr factor moves linearly from start_factor to end_factor over
// total_iters epochs, then stays: b * (start + (end - start) * min(e, total_iters) / total_iters)
// for base lr b at epoch e (computed chainably). Common as a warm-up before another schedule
// (SequentialLR).
#pragma once

#include <cstdint>
#include <vector>

#include "fulgur/optim/lr_scheduler.h"

namespace fulgur::optim {

// optim::LinearLR(opt, {.start_factor = 0.1, .total_iters = 10})
struct LinearLROptions {
  double start_factor = 1.0 / 3;  // in [0, 1]
  double end_factor = 1.0;        // in [0, 1]
  int64_t total_iters = 5;
  int64_t last_epoch = -1;
};

class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, LinearLROptions options = {});
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

}  // namespace fulgur::optim
