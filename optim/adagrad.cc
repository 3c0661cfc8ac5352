// Adagrad: the fused loop for contiguous float32/float64 CPU tensors, tensor ops otherwise;
// both in PyTorch's operation order (tests/optim_test.cc checks both).
#include "fulgur/optim/adagrad.h"

#include <cmath>

#include "fulgur/optim/internal/fused.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::optim {
namespace {

template <typename T>
void adagrad_fused(T* p_, const T* g_, T* sum_, int64_t n, double clr, const AdagradOptions& o) {
  const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps), neg_clr = static_cast<T>(-clr);
  internal::with_flags(
      [&](auto maximize, auto use_wd) {
        internal::fused_for(n, [=](int64_t begin, int64_t end) {
          T* __restrict p = p_;
          const T* __restrict g = g_;
          T* __restrict sum = sum_;
          // Element i only touches index i of each array: no loop-carried dependence.
#pragma GCC ivdep
          for (int64_t i = begin; i < end; ++i) {
            T gi = g[i];
            if constexpr (maximize) gi = -gi;
            if constexpr (use_wd) gi = gi + wd * p[i];
            const T si = sum[i] + gi * gi;
            sum[i] = si;
            p[i] = p[i] + neg_clr * gi / (std::sqrt(si) + eps);
          }
        });
      },
      o.maximize, o.weight_decay != 0);
}

}  // namespace

Value AdagradOptions::to_value() const {
  return Value::dict({{"lr", lr},
                      {"lr_decay", lr_decay},
                      {"eps", eps},
                      {"weight_decay", weight_decay},
                      {"initial_accumulator_value", initial_accumulator_value},
                      {"foreach", detail::optional_bool_value(foreach)},
                      {"maximize", maximize}});
}

AdagradOptions AdagradOptions::from_value(const Value& v) {
  const AdagradOptions d;
  const char* op = "Adagrad";
  return {.lr = detail::read_double(v, "lr", d.lr, op),
          .lr_decay = detail::read_double(v, "lr_decay", d.lr_decay, op),
          .weight_decay = detail::read_double(v, "weight_decay", d.weight_decay, op),
          .initial_accumulator_value =
              detail::read_double(v, "initial_accumulator_value", d.initial_accumulator_value, op),
          .eps = detail::read_double(v, "eps", d.eps, op),
          .maximize = detail::read_bool(v, "maximize", d.maximize, op),
          .foreach = detail::read_optional_bool(v, "foreach", d.foreach, op)};
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Adagrad(std::vector<ParamGroup>{{.params = std::move(params)}}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults)
    : Optimizer("Adagrad", defaults.to_value()) {
  init_param_groups(std::move(groups));
  // PyTorch fills every sum with the constructor's initial_accumulator_value (not the group's).
  for (const auto& group : param_groups()) {
    for (const auto& p : group.params) {
      State& s = state_.get_or_create(p);
      s.sum = full_like(p, defaults.initial_accumulator_value);
    }
  }
}

void Adagrad::check_group_options(const Value& options, const std::string& where) const {
  const AdagradOptions o = AdagradOptions::from_value(options);
  FULGUR_CHECK(o.lr >= 0, "Adagrad", "invalid learning rate ", o.lr, " in ", where);
  FULGUR_CHECK(o.lr_decay >= 0, "Adagrad", "invalid lr_decay value ", o.lr_decay, " in ", where);
  FULGUR_CHECK(o.weight_decay >= 0, "Adagrad", "invalid weight_decay value ", o.weight_decay, " in ", where);
  FULGUR_CHECK(o.initial_accumulator_value >= 0, "Adagrad", "invalid initial_accumulator_value value ",
               o.initial_accumulator_value, " in ", where);
  FULGUR_CHECK(o.eps >= 0, "Adagrad", "invalid epsilon value ", o.eps, " in ", where);
}

std::vector<std::string> Adagrad::required_group_keys() const {
  return {"lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value"};
}

void Adagrad::step_group(ParamGroup& group) {
  const AdagradOptions o = AdagradOptions::from_value(group.options);
  for (Tensor& p : group.params) {
    const Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    State& s = state_.get_or_create(p);
    // A group added after construction (PyTorch 1.13 fails there): its own initial value.
    if (!s.sum.defined()) s.sum = full_like(p, o.initial_accumulator_value);
    s.step += 1;
    const double clr = o.lr / (1 + static_cast<double>(s.step - 1) * o.lr_decay);
    if (internal::use_fused(o.foreach, {&p, &grad, &s.sum})) {
      if (p.dtype() == kFloat32) {
        adagrad_fused(p.data_ptr<float>(), grad.data_ptr<float>(), s.sum.data_ptr<float>(), p.numel(), clr, o);
      } else {
        adagrad_fused(p.data_ptr<double>(), grad.data_ptr<double>(), s.sum.data_ptr<double>(), p.numel(), clr, o);
      }
      internal::mark_written({&p, &s.sum});
      continue;
    }
    Tensor g = o.maximize ? grad.neg() : grad;
    if (o.weight_decay != 0) g = g.add(p, o.weight_decay);
    s.sum.add_(g.mul(g));
    Tensor std = s.sum.sqrt();
    std.add_(o.eps);
    p.add_(g.div(std), -clr);
  }
}

std::vector<std::pair<const TensorImpl*, Value>> Adagrad::save_state() const {
  std::vector<std::pair<const TensorImpl*, Value>> out;
  for (const auto& [param, s] : state_.entries())
    out.emplace_back(param, Value::dict({{"step", detail::step_tensor(s.step)}, {"sum", s.sum}}));
  return out;
}

void Adagrad::load_state(const std::vector<SavedParamState>& states) {
  const char* op = "Adagrad::load_state_dict";
  ParamStateMap<State> loaded;
  for (const auto& saved : states) {
    State& s = loaded.get_or_create(saved.param);
    s.step = detail::state_step(saved, op);
    s.sum = detail::state_tensor(saved, "sum", true, op);
  }
  state_.swap(loaded);
}

}  // namespace fulgur::optim
