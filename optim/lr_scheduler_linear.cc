// LinearLR: PyTorch 1.13's chainable get_lr and closed form.
#include "fulgur/optim/lr_scheduler_linear.h"

#include <algorithm>

namespace fulgur::optim {

LinearLR::LinearLR(Optimizer& optimizer, LinearLROptions o)
    : LRScheduler(optimizer, o.last_epoch, "LinearLR"),
      start_factor_(o.start_factor),
      end_factor_(o.end_factor),
      total_iters_(o.total_iters) {
  FULGUR_CHECK(start_factor_ >= 0 && start_factor_ <= 1, "LinearLR",
               "Starting multiplicative factor expected to be between 0 and 1, got ", start_factor_);
  FULGUR_CHECK(end_factor_ >= 0 && end_factor_ <= 1, "LinearLR",
               "Ending multiplicative factor expected to be between 0 and 1, got ", end_factor_);
  FULGUR_CHECK(total_iters_ > 0, "LinearLR", "total_iters must be positive, got ", total_iters_);
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs;
  for (size_t i = 0; i < num_groups(); ++i) {
    const double lr = group_lr(i);
    if (last_epoch_ == 0) {
      lrs.push_back(lr * start_factor_);
    } else if (last_epoch_ > total_iters_) {
      lrs.push_back(lr);
    } else {
      const double delta = end_factor_ - start_factor_;
      lrs.push_back(lr * (1. + delta / (static_cast<double>(total_iters_) * start_factor_ +
                                        static_cast<double>(last_epoch_ - 1) * delta)));
    }
  }
  return lrs;
}

std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  std::vector<double> lrs;
  const double done = static_cast<double>(std::min(total_iters_, last_epoch_));
  for (double b : base_lrs_)
    lrs.push_back(b * (start_factor_ + (end_factor_ - start_factor_) * done / static_cast<double>(total_iters_)));
  return lrs;
}

Value LinearLR::state_dict() const {
  Value out = Value::dict({{"start_factor", start_factor_}, {"end_factor", end_factor_}, {"total_iters", total_iters_}});
  append_base_state(out);
  return out;
}

void LinearLR::load_state_dict(const Value& sd) {
  const std::string op = "LinearLR::load_state_dict";
  load_base_state(sd);
  detail::load_double(sd, "start_factor", &start_factor_, op);
  detail::load_double(sd, "end_factor", &end_factor_, op);
  detail::load_int(sd, "total_iters", &total_iters_, op);
}

}  // namespace fulgur::optim
