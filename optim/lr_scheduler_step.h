// Schedules that multiply the lr by gamma at chosen epochs (PyTorch 1.13's StepLR,
// MultiStepLR, ExponentialLR). With base lr b, at epoch e:
//   StepLR:        b * gamma^(e / step_size)
//   MultiStepLR:   b * gamma^(number of milestones <= e)
//   ExponentialLR: b * gamma^e
// computed chainably (the group's current lr times gamma when a decay is due).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "fulgur/optim/lr_scheduler.h"

namespace fulgur::optim {

// optim::StepLR(opt, {.step_size = 30, .gamma = 0.1})
struct StepLROptions {
  int64_t step_size = 0;  // required: epochs between decays
  double gamma = 0.1;
  int64_t last_epoch = -1;
};

class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, StepLROptions options);
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// optim::MultiStepLR(opt, {.milestones = {30, 80}, .gamma = 0.1}). A milestone listed twice
// decays twice.
struct MultiStepLROptions {
  std::vector<int64_t> milestones;
  double gamma = 0.1;
  int64_t last_epoch = -1;
};

class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, MultiStepLROptions options);
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  std::vector<std::pair<int64_t, int64_t>> milestones_;  // epoch -> count, first-seen order (a Counter)
  double gamma_;
};

// optim::ExponentialLR(opt, {.gamma = 0.95})
struct ExponentialLROptions {
  double gamma = 0;  // required
  int64_t last_epoch = -1;
};

class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, ExponentialLROptions options);
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  double gamma_;
};

}  // namespace fulgur::optim
