// ReduceLROnPlateau: PyTorch 1.13's counters, comparisons and state_dict.
#include "fulgur/optim/lr_scheduler_plateau.h"

#include <algorithm>
#include <limits>

#include "fulgur/optim/lr_scheduler.h"

namespace fulgur::optim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double worst(PlateauMode mode) { return mode == PlateauMode::Min ? kInf : -kInf; }

}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions o)
    : optimizer_(&optimizer),
      factor_(o.factor),
      patience_(o.patience),
      cooldown_(o.cooldown),
      mode_(o.mode),
      threshold_(o.threshold),
      threshold_mode_(o.threshold_mode),
      best_(worst(o.mode)),
      mode_worse_(worst(o.mode)),
      eps_(o.eps) {
  FULGUR_CHECK(factor_ < 1.0, "ReduceLROnPlateau", "Factor should be < 1.0, got ", factor_);
  FULGUR_CHECK(!o.min_lr.empty(), "ReduceLROnPlateau", "min_lr needs one value for all groups or one per group");
  min_lrs_ = detail::per_group(o.min_lr, optimizer.param_groups().size(), "min_lr", "ReduceLROnPlateau");
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  if (mode_ == PlateauMode::Min && threshold_mode_ == ThresholdMode::Rel) return a < best * (1. - threshold_);
  if (mode_ == PlateauMode::Min) return a < best - threshold_;
  if (threshold_mode_ == ThresholdMode::Rel) return a > best * (threshold_ + 1.);
  return a > best + threshold_;
}

void ReduceLROnPlateau::step(double metric) {
  last_epoch_ += 1;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_ += 1;
  }
  if (in_cooldown()) {
    cooldown_counter_ -= 1;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > patience_) {
    reduce_lr();
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (const auto& g : optimizer_->param_groups()) last_lr_.push_back(g.lr());
}

void ReduceLROnPlateau::reduce_lr() {
  auto& groups = optimizer_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const double old_lr = groups[i].lr();
    const double new_lr = std::max(old_lr * factor_, i < min_lrs_.size() ? min_lrs_[i] : 0.0);
    if (old_lr - new_lr > eps_) groups[i].set_lr(new_lr);
  }
}

Value ReduceLROnPlateau::state_dict() const {
  Value out = Value::dict({{"factor", factor_},
                           {"min_lrs", detail::doubles_value(min_lrs_)},
                           {"patience", patience_},
                           {"verbose", false},
                           {"cooldown", cooldown_},
                           {"cooldown_counter", cooldown_counter_},
                           {"mode", mode_ == PlateauMode::Min ? "min" : "max"},
                           {"threshold", threshold_},
                           {"threshold_mode", threshold_mode_ == ThresholdMode::Rel ? "rel" : "abs"},
                           {"best", best_},
                           {"num_bad_epochs", num_bad_epochs_},
                           {"mode_worse", mode_worse_},
                           {"eps", eps_},
                           {"last_epoch", last_epoch_}});
  if (!last_lr_.empty()) out.set("_last_lr", detail::doubles_value(last_lr_));
  return out;
}

void ReduceLROnPlateau::load_state_dict(const Value& sd) {
  const std::string op = "ReduceLROnPlateau::load_state_dict";
  FULGUR_CHECK(sd.is_dict(), op.c_str(), "expected a dict, got ", sd.type_name());
  auto read_mode = [&](const char* key, const char* a, const char* b) -> std::optional<bool> {
    const Value* v = sd.find(key);
    if (!v) return std::nullopt;
    FULGUR_CHECK(v->is_string() && (v->as_string() == a || v->as_string() == b), op.c_str(), "'", key, "' must be '",
                 a, "' or '", b, "', got ", v->repr());
    return v->as_string() == a;
  };
  const auto is_min = read_mode("mode", "min", "max");
  const auto is_rel = read_mode("threshold_mode", "rel", "abs");
  detail::load_double(sd, "factor", &factor_, op);
  detail::load_doubles(sd, "min_lrs", &min_lrs_, op);
  detail::load_int(sd, "patience", &patience_, op);
  detail::load_int(sd, "cooldown", &cooldown_, op);
  detail::load_int(sd, "cooldown_counter", &cooldown_counter_, op);
  detail::load_double(sd, "threshold", &threshold_, op);
  detail::load_double(sd, "best", &best_, op);
  detail::load_int(sd, "num_bad_epochs", &num_bad_epochs_, op);
  detail::load_double(sd, "eps", &eps_, op);
  detail::load_int(sd, "last_epoch", &last_epoch_, op);
  detail::load_doubles(sd, "_last_lr", &last_lr_, op);
  if (is_min) mode_ = *is_min ? PlateauMode::Min : PlateauMode::Max;
  if (is_rel) threshold_mode_ = *is_rel ? ThresholdMode::Rel : ThresholdMode::Abs;
  mode_worse_ = worst(mode_);  // PyTorch's _init_is_better
}

}  // namespace fulgur::optim
