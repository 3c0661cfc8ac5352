// OneCycleLR: PyTorch 1.13's phases and annealing functions.
#include "fulgur/optim/lr_scheduler_one_cycle.h"

#include <cmath>
#include <numbers>

namespace fulgur::optim {
namespace {

int64_t resolve_total_steps(const OneCycleLROptions& o) {
  const char* op = "OneCycleLR";
  if (o.total_steps) {
    FULGUR_CHECK(*o.total_steps > 0, op, "Expected positive integer total_steps, but got ", *o.total_steps);
    return *o.total_steps;
  }
  FULGUR_CHECK(o.epochs && o.steps_per_epoch, op, "You must define either total_steps OR (epochs AND "
               "steps_per_epoch); hint: OneCycleLR(opt, {.max_lr = {0.1}, .total_steps = 1000})");
  FULGUR_CHECK(*o.epochs > 0, op, "Expected positive integer epochs, but got ", *o.epochs);
  FULGUR_CHECK(*o.steps_per_epoch > 0, op, "Expected positive integer steps_per_epoch, but got ", *o.steps_per_epoch);
  return *o.epochs * *o.steps_per_epoch;
}

double group_number(const ParamGroup& group, const std::string& key, const char* op) {
  const Value* v = group.options.find(key);
  FULGUR_CHECK(v && v->is_number(), op, "param group option '", key, "' is missing or not a number; hint: "
               "construct OneCycleLR with last_epoch = -1, or load an optimizer state saved with it");
  return v->to_double();
}

// The momentum a group cycles: betas[0] for Adam-like optimizers, else momentum.
void set_momentum(ParamGroup& group, bool use_beta1, double m) {
  if (use_beta1) {
    const Value& betas = group.options.at("betas");
    FULGUR_CHECK(betas.is_sequence() && betas.size() == 2, "OneCycleLR", "'betas' must be a pair, got ",
                 betas.repr());
    group.options.set("betas", Value::tuple({m, betas[1]}));
  } else {
    group.options.set("momentum", m);
  }
}

}  // namespace

double OneCycleLR::anneal(AnnealStrategy strategy, double start, double end, double pct) {
  if (strategy == AnnealStrategy::Cos) {
    const double cos_out = std::cos(std::numbers::pi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleLROptions o)
    : LRScheduler(optimizer, o.last_epoch, "OneCycleLR"),
      total_steps_(resolve_total_steps(o)),
      strategy_(o.anneal_strategy),
      cycle_momentum_(o.cycle_momentum) {
  const char* op = "OneCycleLR";
  const auto total = static_cast<double>(total_steps_);
  if (o.three_phase) {
    phases_ = {{o.pct_start * total - 1, false, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {2 * o.pct_start * total - 2, false, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
               {total - 1, true, "initial_lr", "min_lr", "max_momentum", "max_momentum"}};
  } else {
    phases_ = {{o.pct_start * total - 1, false, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {total - 1, true, "max_lr", "min_lr", "base_momentum", "max_momentum"}};
  }
  FULGUR_CHECK(o.pct_start >= 0 && o.pct_start <= 1, op, "Expected float between 0 and 1 pct_start, but got ",
               o.pct_start);
  FULGUR_CHECK(!o.max_lr.empty(), op, "max_lr is required; hint: OneCycleLR(opt, {.max_lr = {0.1}, "
               ".total_steps = 1000})");
  auto& groups = optimizer.param_groups();
  const std::vector<double> max_lrs = detail::per_group(o.max_lr, groups.size(), "max_lr", op);
  if (o.last_epoch == -1) {
    for (size_t i = 0; i < groups.size(); ++i) {
      const double initial_lr = max_lrs[i] / o.div_factor;
      groups[i].options.set("initial_lr", initial_lr);
      groups[i].options.set("max_lr", max_lrs[i]);
      groups[i].options.set("min_lr", initial_lr / o.final_div_factor);
    }
  }
  if (cycle_momentum_) {
    const Value& defaults = optimizer.defaults();
    FULGUR_CHECK(defaults.contains("momentum") || defaults.contains("betas"), op,
                 "optimizer must support momentum with `cycle_momentum` option enabled (", optimizer.name(),
                 " has neither 'momentum' nor 'betas'); hint: set .cycle_momentum = false");
    use_beta1_ = defaults.contains("betas");
    const auto max_m = detail::per_group(o.max_momentum, groups.size(), "max_momentum", op);
    const auto base_m = detail::per_group(o.base_momentum, groups.size(), "base_momentum", op);
    if (o.last_epoch == -1) {
      for (size_t i = 0; i < groups.size(); ++i) {
        set_momentum(groups[i], use_beta1_, max_m[i]);
        groups[i].options.set("max_momentum", max_m[i]);
        groups[i].options.set("base_momentum", base_m[i]);
      }
    }
  }
  // The base recorded initial_lr before it was set above (PyTorch sets it first).
  base_lrs_.clear();
  for (const auto& g : groups) base_lrs_.push_back(g.options.at("initial_lr").to_double());
  initial_step();
}

std::vector<double> OneCycleLR::get_lr() {
  const char* op = "OneCycleLR";
  FULGUR_CHECK(last_epoch_ <= total_steps_, op, "Tried to step ", last_epoch_ + 1,
               " times. The specified number of total steps is ", total_steps_,
               "; hint: total_steps must cover every scheduler.step() call");
  const auto step_num = static_cast<double>(last_epoch_);
  std::vector<double> lrs;
  for (auto& group : optimizer_->param_groups()) {
    double lr = 0, momentum = 0, start_step = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step_num <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (step_num - start_step) / (phase.end_step - start_step);
        lr = anneal(strategy_, group_number(group, phase.start_lr, op), group_number(group, phase.end_lr, op), pct);
        if (cycle_momentum_) {
          momentum = anneal(strategy_, group_number(group, phase.start_momentum, op),
                            group_number(group, phase.end_momentum, op), pct);
        }
        break;
      }
      start_step = phase.end_step;
    }
    lrs.push_back(lr);
    if (cycle_momentum_) set_momentum(group, use_beta1_, momentum);
  }
  return lrs;
}

Value OneCycleLR::state_dict() const {
  Value phases = Value::list();
  for (const Phase& p : phases_) {
    phases.push_back(Value::dict({{"end_step", p.end_step_is_int ? Value(static_cast<int64_t>(p.end_step))
                                                                 : Value(p.end_step)},
                                  {"start_lr", p.start_lr},
                                  {"end_lr", p.end_lr},
                                  {"start_momentum", p.start_momentum},
                                  {"end_momentum", p.end_momentum}}));
  }
  // PyTorch 1.13 stores the annealing function itself; its name is what 2.1+ store.
  Value out = Value::dict({{"total_steps", total_steps_},
                           {"_schedule_phases", std::move(phases)},
                           {"_anneal_func_type", strategy_ == AnnealStrategy::Cos ? "cos" : "linear"},
                           {"cycle_momentum", cycle_momentum_}});
  if (cycle_momentum_) out.set("use_beta1", use_beta1_);
  append_base_state(out);
  return out;
}

void OneCycleLR::load_state_dict(const Value& sd) {
  const std::string op = "OneCycleLR::load_state_dict";
  load_base_state(sd);
  detail::load_int(sd, "total_steps", &total_steps_, op);
  detail::load_bool(sd, "cycle_momentum", &cycle_momentum_, op);
  detail::load_bool(sd, "use_beta1", &use_beta1_, op);
  if (const Value* f = sd.find("_anneal_func_type")) {
    FULGUR_CHECK(f->is_string() && (f->as_string() == "cos" || f->as_string() == "linear"), op.c_str(),
                 "'_anneal_func_type' must be 'cos' or 'linear', got ", f->repr());
    strategy_ = f->as_string() == "cos" ? AnnealStrategy::Cos : AnnealStrategy::Linear;
  }
  if (const Value* phases = sd.find("_schedule_phases")) {
    FULGUR_CHECK(phases->is_sequence(), op.c_str(), "'_schedule_phases' must be a list, got ", phases->type_name());
    std::vector<Phase> loaded;
    for (const Value& p : phases->elements()) {
      auto text = [&](const char* key) -> std::string {
        const Value* v = p.is_dict() ? p.find(key) : nullptr;
        FULGUR_CHECK(v && v->is_string(), op.c_str(), "a schedule phase needs a string '", key, "', got ", p.repr());
        return v->as_string();
      };
      const Value* end = p.is_dict() ? p.find("end_step") : nullptr;
      FULGUR_CHECK(end && end->is_number(), op.c_str(), "a schedule phase needs a numeric 'end_step', got ",
                   p.repr());
      loaded.push_back({end->to_double(), end->is_int(), text("start_lr"), text("end_lr"), text("start_momentum"),
                        text("end_momentum")});
    }
    phases_ = std::move(loaded);
  }
}

}  // namespace fulgur::optim
