// StepLR, MultiStepLR, ExponentialLR: PyTorch 1.13's chainable get_lr and closed forms.
#include "fulgur/optim/lr_scheduler_step.h"

#include <algorithm>
#include <cmath>

namespace fulgur::optim {

// ---- StepLR ---------------------------------------------------------------------------------
StepLR::StepLR(Optimizer& optimizer, StepLROptions o)
    : LRScheduler(optimizer, o.last_epoch, "StepLR"), step_size_(o.step_size), gamma_(o.gamma) {
  FULGUR_CHECK(step_size_ > 0, "StepLR", "step_size must be a positive number of epochs, got ", step_size_,
               "; hint: StepLR(opt, {.step_size = 30})");
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs;
  const bool decay = last_epoch_ != 0 && detail::py_mod(last_epoch_, step_size_) == 0;
  for (size_t i = 0; i < num_groups(); ++i) lrs.push_back(decay ? group_lr(i) * gamma_ : group_lr(i));
  return lrs;
}

std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double b : base_lrs_)
    lrs.push_back(b * std::pow(gamma_, static_cast<double>(detail::py_floordiv(last_epoch_, step_size_))));
  return lrs;
}

Value StepLR::state_dict() const {
  Value out = Value::dict({{"step_size", step_size_}, {"gamma", gamma_}});
  append_base_state(out);
  return out;
}

void StepLR::load_state_dict(const Value& sd) {
  load_base_state(sd);
  detail::load_int(sd, "step_size", &step_size_, "StepLR::load_state_dict");
  detail::load_double(sd, "gamma", &gamma_, "StepLR::load_state_dict");
}

// ---- MultiStepLR ----------------------------------------------------------------------------
MultiStepLR::MultiStepLR(Optimizer& optimizer, MultiStepLROptions o)
    : LRScheduler(optimizer, o.last_epoch, "MultiStepLR"), gamma_(o.gamma) {
  for (int64_t m : o.milestones) {
    auto it = std::find_if(milestones_.begin(), milestones_.end(), [&](const auto& e) { return e.first == m; });
    if (it == milestones_.end()) {
      milestones_.emplace_back(m, 1);
    } else {
      ++it->second;
    }
  }
  initial_step();
}

std::vector<double> MultiStepLR::get_lr() {
  int64_t count = 0;
  for (const auto& [epoch, n] : milestones_)
    if (epoch == last_epoch_) count = n;
  std::vector<double> lrs;
  for (size_t i = 0; i < num_groups(); ++i)
    lrs.push_back(count == 0 ? group_lr(i) : group_lr(i) * std::pow(gamma_, static_cast<double>(count)));
  return lrs;
}

std::optional<std::vector<double>> MultiStepLR::closed_form_lr() const {
  int64_t passed = 0;  // bisect_right over the sorted milestones
  for (const auto& [epoch, n] : milestones_)
    if (epoch <= last_epoch_) passed += n;
  std::vector<double> lrs;
  for (double b : base_lrs_) lrs.push_back(b * std::pow(gamma_, static_cast<double>(passed)));
  return lrs;
}

Value MultiStepLR::state_dict() const {
  Value counter = Value::dict();
  for (const auto& [epoch, n] : milestones_) counter.set(epoch, n);
  Value out = Value::dict({{"milestones", std::move(counter)}, {"gamma", gamma_}});
  append_base_state(out);
  return out;
}

void MultiStepLR::load_state_dict(const Value& sd) {
  const std::string op = "MultiStepLR::load_state_dict";
  load_base_state(sd);
  if (const Value* m = sd.find("milestones")) {
    FULGUR_CHECK(m->is_dict(), op.c_str(), "'milestones' must be a dict {epoch: count}, got ", m->type_name());
    std::vector<std::pair<int64_t, int64_t>> milestones;
    for (const auto& [key, count] : m->items()) {
      FULGUR_CHECK(key.is_int() && count.is_int(), op.c_str(), "'milestones' must map int epochs to int counts, "
                   "got ", key.repr(), ": ", count.repr());
      milestones.emplace_back(key.as_int(), count.as_int());
    }
    milestones_ = std::move(milestones);
  }
  detail::load_double(sd, "gamma", &gamma_, op);
}

// ---- ExponentialLR --------------------------------------------------------------------------
ExponentialLR::ExponentialLR(Optimizer& optimizer, ExponentialLROptions o)
    : LRScheduler(optimizer, o.last_epoch, "ExponentialLR"), gamma_(o.gamma) {
  FULGUR_CHECK(gamma_ > 0, "ExponentialLR", "gamma must be positive, got ", gamma_,
               "; hint: ExponentialLR(opt, {.gamma = 0.95})");
  initial_step();
}

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs;
  for (size_t i = 0; i < num_groups(); ++i) lrs.push_back(last_epoch_ == 0 ? group_lr(i) : group_lr(i) * gamma_);
  return lrs;
}

std::optional<std::vector<double>> ExponentialLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double b : base_lrs_) lrs.push_back(b * std::pow(gamma_, static_cast<double>(last_epoch_)));
  return lrs;
}

Value ExponentialLR::state_dict() const {
  Value out = Value::dict({{"gamma", gamma_}});
  append_base_state(out);
  return out;
}

void ExponentialLR::load_state_dict(const Value& sd) {
  load_base_state(sd);
  detail::load_double(sd, "gamma", &gamma_, "ExponentialLR::load_state_dict");
}

}  // namespace fulgur::optim
