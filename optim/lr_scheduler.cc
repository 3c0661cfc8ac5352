// LRScheduler: construction, step, and the state_dict attributes every scheduler shares.
#include "fulgur/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>

namespace fulgur::optim {

LRScheduler::LRScheduler(Optimizer& optimizer, int64_t last_epoch, std::string name)
    : optimizer_(&optimizer), name_(std::move(name)), last_epoch_(last_epoch) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    Value& options = groups[i].options;
    if (last_epoch == -1) {
      if (!options.contains("initial_lr")) options.set("initial_lr", groups[i].lr());
    } else {
      FULGUR_CHECK(options.contains("initial_lr"), name_.c_str(), "param 'initial_lr' is not specified in "
                   "param_groups[", i, "] when resuming an optimizer; hint: resume with last_epoch = -1, or load "
                   "the optimizer's state_dict first");
    }
    const Value& initial = options.at("initial_lr");
    FULGUR_CHECK(initial.is_number(), name_.c_str(), "param_groups[", i, "]['initial_lr'] must be a number, got ",
                 initial.repr());
    base_lrs_.push_back(initial.to_double());
  }
}

LRScheduler::LRScheduler(Optimizer& optimizer, Bare, std::string name)
    : optimizer_(&optimizer), name_(std::move(name)) {}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void LRScheduler::step() {
  step_count_ += 1;
  last_epoch_ += 1;
  apply_lrs(get_lr());
}

void LRScheduler::step(double epoch) {
  FULGUR_CHECK(epoch == std::floor(epoch), name_.c_str(), "step(epoch) needs an integer epoch, got ", epoch,
               "; hint: only CosineAnnealingWarmRestarts takes fractional epochs");
  step_count_ += 1;
  last_epoch_ = static_cast<int64_t>(epoch);
  const auto closed = closed_form_lr();
  apply_lrs(closed ? *closed : get_lr());
}

void LRScheduler::apply_lrs(const std::vector<double>& lrs) {
  const size_t n = std::min(lrs.size(), num_groups());
  for (size_t i = 0; i < n; ++i) optimizer_->set_lr(i, lrs[i]);
  last_lr_.clear();
  for (size_t i = 0; i < num_groups(); ++i) last_lr_.push_back(group_lr(i));
}

void LRScheduler::append_base_state(Value& out) const {
  out.set("base_lrs", detail::doubles_value(base_lrs_));
  out.set("last_epoch", last_epoch_);
  out.set("verbose", false);
  out.set("_step_count", step_count_);
  out.set("_get_lr_called_within_step", false);
  out.set("_last_lr", detail::doubles_value(last_lr_));
}

void LRScheduler::load_base_state(const Value& sd) {
  const std::string op = name_ + "::load_state_dict";
  FULGUR_CHECK(sd.is_dict(), op.c_str(), "expected a dict, got ", sd.type_name());
  detail::load_doubles(sd, "base_lrs", &base_lrs_, op);
  detail::load_int(sd, "last_epoch", &last_epoch_, op);
  detail::load_int(sd, "_step_count", &step_count_, op);
  detail::load_doubles(sd, "_last_lr", &last_lr_, op);
}

Value LRScheduler::state_dict() const {
  Value out = Value::dict();
  append_base_state(out);
  return out;
}

void LRScheduler::load_state_dict(const Value& sd) { load_base_state(sd); }

namespace detail {

void load_int(const Value& sd, const char* key, int64_t* out, const std::string& op) {
  const Value* v = sd.find(key);
  if (!v) return;
  FULGUR_CHECK(v->is_int(), op.c_str(), "'", key, "' must be an int, got ", v->type_name(), " ", v->repr());
  *out = v->as_int();
}

void load_double(const Value& sd, const char* key, double* out, const std::string& op) {
  const Value* v = sd.find(key);
  if (!v) return;
  FULGUR_CHECK(v->is_number(), op.c_str(), "'", key, "' must be a number, got ", v->type_name(), " ", v->repr());
  *out = v->to_double();
}

void load_bool(const Value& sd, const char* key, bool* out, const std::string& op) {
  const Value* v = sd.find(key);
  if (!v) return;
  FULGUR_CHECK(v->is_bool(), op.c_str(), "'", key, "' must be a bool, got ", v->type_name(), " ", v->repr());
  *out = v->as_bool();
}

void load_doubles(const Value& sd, const char* key, std::vector<double>* out, const std::string& op) {
  const Value* v = sd.find(key);
  if (!v) return;
  FULGUR_CHECK(v->is_sequence(), op.c_str(), "'", key, "' must be a list of numbers, got ", v->type_name());
  std::vector<double> values;
  for (const Value& x : v->elements()) {
    FULGUR_CHECK(x.is_number(), op.c_str(), "'", key, "' must be a list of numbers, it holds ", x.repr());
    values.push_back(x.to_double());
  }
  *out = std::move(values);
}

Value doubles_value(const std::vector<double>& v) {
  std::vector<Value> items(v.begin(), v.end());
  return Value::list(std::move(items));
}

std::vector<double> per_group(const std::vector<double>& values, size_t groups, const char* what,
                              const std::string& op) {
  if (values.size() == 1) return std::vector<double>(groups, values[0]);
  FULGUR_CHECK(values.size() == groups, op.c_str(), "expected ", groups, " values for ", what, ", got ",
               values.size(), "; hint: give one value for all groups or one per group");
  return values;
}

}  // namespace detail
}  // namespace fulgur::optim
