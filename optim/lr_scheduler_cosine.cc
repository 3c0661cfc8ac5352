// CosineAnnealingLR and CosineAnnealingWarmRestarts, in PyTorch 1.13's operation order.
#include "fulgur/optim/lr_scheduler_cosine.h"

#include <cmath>
#include <numbers>

namespace fulgur::optim {

constexpr double kPi = std::numbers::pi;

// ---- CosineAnnealingLR ----------------------------------------------------------------------
CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, CosineAnnealingLROptions o)
    : LRScheduler(optimizer, o.last_epoch, "CosineAnnealingLR"), T_max_(o.T_max), eta_min_(o.eta_min) {
  FULGUR_CHECK(T_max_ > 0, "CosineAnnealingLR", "T_max must be a positive number of epochs, got ", T_max_,
               "; hint: CosineAnnealingLR(opt, {.T_max = 100})");
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> lrs;
  const double e = static_cast<double>(last_epoch_), T = static_cast<double>(T_max_);
  for (size_t i = 0; i < num_groups(); ++i) {
    const double lr = group_lr(i);
    const double base = i < base_lrs_.size() ? base_lrs_[i] : lr;
    if (last_epoch_ == 0) {
      lrs.push_back(lr);
    } else if (step_count_ == 1 && last_epoch_ > 0) {  // resumed: start from the closed form
      lrs.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(e * kPi / T)) / 2);
    } else if (detail::py_mod(last_epoch_ - 1 - T_max_, 2 * T_max_) == 0) {  // at a minimum: climb
      lrs.push_back(lr + (base - eta_min_) * (1 - std::cos(kPi / T)) / 2);
    } else {
      lrs.push_back((1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lr - eta_min_) + eta_min_);
    }
  }
  return lrs;
}

std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  std::vector<double> lrs;
  const double e = static_cast<double>(last_epoch_), T = static_cast<double>(T_max_);
  for (double b : base_lrs_) lrs.push_back(eta_min_ + (b - eta_min_) * (1 + std::cos(kPi * e / T)) / 2);
  return lrs;
}

Value CosineAnnealingLR::state_dict() const {
  Value out = Value::dict({{"T_max", T_max_}, {"eta_min", eta_min_}});
  append_base_state(out);
  return out;
}

void CosineAnnealingLR::load_state_dict(const Value& sd) {
  load_base_state(sd);
  detail::load_int(sd, "T_max", &T_max_, "CosineAnnealingLR::load_state_dict");
  detail::load_double(sd, "eta_min", &eta_min_, "CosineAnnealingLR::load_state_dict");
}

// ---- CosineAnnealingWarmRestarts ------------------------------------------------------------
CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer,
                                                         CosineAnnealingWarmRestartsOptions o)
    : LRScheduler(optimizer, o.last_epoch, "CosineAnnealingWarmRestarts"),
      T_0_(o.T_0),
      T_i_(o.T_0),
      T_mult_(o.T_mult),
      eta_min_(o.eta_min),
      T_cur_(static_cast<double>(o.last_epoch)) {
  FULGUR_CHECK(T_0_ > 0, "CosineAnnealingWarmRestarts", "Expected positive integer T_0, but got ", T_0_,
               "; hint: CosineAnnealingWarmRestarts(opt, {.T_0 = 10})");
  FULGUR_CHECK(T_mult_ >= 1, "CosineAnnealingWarmRestarts", "Expected integer T_mult >= 1, but got ", T_mult_);
  initial_step();
}

std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  std::vector<double> lrs;
  for (double b : base_lrs_)
    lrs.push_back(eta_min_ + (b - eta_min_) * (1 + std::cos(kPi * T_cur_ / static_cast<double>(T_i_))) / 2);
  return lrs;
}

void CosineAnnealingWarmRestarts::step() { step_to(std::nullopt); }

void CosineAnnealingWarmRestarts::step(double epoch) { step_to(epoch); }

void CosineAnnealingWarmRestarts::step_to(std::optional<double> epoch) {
  if (!epoch && last_epoch_ < 0) epoch = 0;
  double e;
  if (!epoch) {
    e = static_cast<double>(last_epoch_ + 1);
    T_cur_ += 1;
    if (T_cur_ >= static_cast<double>(T_i_)) {
      T_cur_ -= static_cast<double>(T_i_);
      T_i_ *= T_mult_;
    }
  } else {
    e = *epoch;
    FULGUR_CHECK(e >= 0, "CosineAnnealingWarmRestarts", "Expected non-negative epoch, but got ", e);
    const bool integral = e == std::floor(e);
    if (e >= static_cast<double>(T_0_)) {
      if (T_mult_ == 1) {
        T_cur_ = std::fmod(e, static_cast<double>(T_0_));
        T_cur_is_int_ = integral;
      } else {
        const double mult = static_cast<double>(T_mult_);
        const auto n = static_cast<int64_t>(std::log(e / static_cast<double>(T_0_) * (mult - 1) + 1) / std::log(mult));
        int64_t power = 1;
        for (int64_t k = 0; k < n; ++k) power *= T_mult_;
        T_cur_ = e - static_cast<double>(T_0_ * (power - 1)) / (mult - 1);
        T_cur_is_int_ = false;  // Python's true division makes it a float
        T_i_ = T_0_ * power;
      }
    } else {
      T_i_ = T_0_;
      T_cur_ = e;
      T_cur_is_int_ = integral;
    }
  }
  last_epoch_ = static_cast<int64_t>(std::floor(e));
  apply_lrs(get_lr());
}

Value CosineAnnealingWarmRestarts::state_dict() const {
  Value t_cur = T_cur_is_int_ ? Value(static_cast<int64_t>(T_cur_)) : Value(T_cur_);
  Value out = Value::dict(
      {{"T_0", T_0_}, {"T_i", T_i_}, {"T_mult", T_mult_}, {"eta_min", eta_min_}, {"T_cur", std::move(t_cur)}});
  append_base_state(out);
  return out;
}

void CosineAnnealingWarmRestarts::load_state_dict(const Value& sd) {
  const std::string op = "CosineAnnealingWarmRestarts::load_state_dict";
  load_base_state(sd);
  detail::load_int(sd, "T_0", &T_0_, op);
  detail::load_int(sd, "T_i", &T_i_, op);
  detail::load_int(sd, "T_mult", &T_mult_, op);
  detail::load_double(sd, "eta_min", &eta_min_, op);
  if (const Value* t = sd.find("T_cur")) {
    FULGUR_CHECK(t->is_number(), op.c_str(), "'T_cur' must be a number, got ", t->repr());
    T_cur_ = t->to_double();
    T_cur_is_int_ = t->is_int();
  }
}

}  // namespace fulgur::optim
