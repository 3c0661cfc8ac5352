// Cosine schedules (PyTorch 1.13), with base lr b and eta_min m:
//   CosineAnnealingLR: m + (b - m) * (1 + cos(pi * e / T_max)) / 2, computed with PyTorch's
//     recursive (chainable) formula, so past T_max it climbs back up rather than restarting.
//   CosineAnnealingWarmRestarts (SGDR): the same curve over a period T_i that restarts at b
//     when it ends; periods grow by T_mult (T_0, T_0 * T_mult, ...). step(epoch) also takes
//     fractional epochs (e.g. epoch + batch / batches_per_epoch).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fulgur/optim/lr_scheduler.h"

namespace fulgur::optim {

// optim::CosineAnnealingLR(opt, {.T_max = 100, .eta_min = 1e-5})
struct CosineAnnealingLROptions {
  int64_t T_max = 0;  // required: epochs of a half cosine period
  double eta_min = 0;
  int64_t last_epoch = -1;
};

class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions options);
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

// optim::CosineAnnealingWarmRestarts(opt, {.T_0 = 10, .T_mult = 2})
struct CosineAnnealingWarmRestartsOptions {
  int64_t T_0 = 0;     // required: epochs of the first period
  int64_t T_mult = 1;  // each period is T_mult times the previous one
  double eta_min = 0;
  int64_t last_epoch = -1;
};

class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& optimizer, CosineAnnealingWarmRestartsOptions options);
  // PyTorch's own step: it counts T_cur, and (as in PyTorch) leaves _step_count alone.
  void step() override;
  void step(double epoch) override;  // any epoch >= 0, fractional too
  double T_cur() const { return T_cur_; }
  int64_t T_i() const { return T_i_; }
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() override;

 private:
  void step_to(std::optional<double> epoch);

  int64_t T_0_, T_i_, T_mult_;
  double eta_min_;
  double T_cur_;
  bool T_cur_is_int_ = true;  // Python keeps T_cur an int until a fraction enters it
};

}  // namespace fulgur::optim
