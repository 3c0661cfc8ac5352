// RMSprop: the fused loop for contiguous float32/float64 CPU tensors, tensor ops otherwise;
// both in PyTorch's operation order (tests/optim_test.cc checks both).
#include "fulgur/optim/rmsprop.h"

#include <cmath>

#include "fulgur/optim/internal/fused.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::optim {
namespace {

template <typename T>
void rmsprop_fused(T* p_, const T* g_, T* sq_, T* buf_, T* gavg_, int64_t n, const RMSpropOptions& o) {
  const T alpha = static_cast<T>(o.alpha), one_alpha = static_cast<T>(1 - o.alpha);
  const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
  const T mom = static_cast<T>(o.momentum), neg_lr = static_cast<T>(-o.lr);
  internal::with_flags(
      [&](auto maximize, auto use_wd, auto centered, auto use_mom) {
        internal::fused_for(n, [=](int64_t begin, int64_t end) {
          T* __restrict p = p_;
          const T* __restrict g = g_;
          T* __restrict sq = sq_;
          T* __restrict buf = buf_;
          T* __restrict gavg = gavg_;
          // Element i only touches index i of each array: no loop-carried dependence.
#pragma GCC ivdep
          for (int64_t i = begin; i < end; ++i) {
            T gi = g[i];
            if constexpr (maximize) gi = -gi;
            if constexpr (use_wd) gi = gi + wd * p[i];
            const T si = sq[i] * alpha + one_alpha * gi * gi;
            sq[i] = si;
            T avg;
            if constexpr (centered) {
              const T ai = gavg[i] * alpha + one_alpha * gi;
              gavg[i] = ai;
              avg = std::sqrt(si + T(-1) * ai * ai);
            } else {
              avg = std::sqrt(si);
            }
            avg = avg + eps;
            if constexpr (use_mom) {
              const T bi = buf[i] * mom + gi / avg;
              buf[i] = bi;
              p[i] = p[i] + neg_lr * bi;
            } else {
              p[i] = p[i] + neg_lr * gi / avg;
            }
          }
        });
      },
      o.maximize, o.weight_decay != 0, o.centered, o.momentum > 0);
}

template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

}  // namespace

Value RMSpropOptions::to_value() const {
  return Value::dict({{"lr", lr},
                      {"momentum", momentum},
                      {"alpha", alpha},
                      {"eps", eps},
                      {"centered", centered},
                      {"weight_decay", weight_decay},
                      {"foreach", detail::optional_bool_value(foreach)},
                      {"maximize", maximize},
                      {"differentiable", false}});
}

RMSpropOptions RMSpropOptions::from_value(const Value& v) {
  const RMSpropOptions d;
  const char* op = "RMSprop";
  return {.lr = detail::read_double(v, "lr", d.lr, op),
          .alpha = detail::read_double(v, "alpha", d.alpha, op),
          .eps = detail::read_double(v, "eps", d.eps, op),
          .weight_decay = detail::read_double(v, "weight_decay", d.weight_decay, op),
          .momentum = detail::read_double(v, "momentum", d.momentum, op),
          .centered = detail::read_bool(v, "centered", d.centered, op),
          .maximize = detail::read_bool(v, "maximize", d.maximize, op),
          .foreach = detail::read_optional_bool(v, "foreach", d.foreach, op)};
}

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : RMSprop(std::vector<ParamGroup>{{.params = std::move(params)}}, options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults)
    : Optimizer("RMSprop", defaults.to_value()) {
  init_param_groups(std::move(groups));
}

void RMSprop::check_group_options(const Value& options, const std::string& where) const {
  const RMSpropOptions o = RMSpropOptions::from_value(options);
  FULGUR_CHECK(o.lr >= 0, "RMSprop", "invalid learning rate ", o.lr, " in ", where);
  FULGUR_CHECK(o.eps >= 0, "RMSprop", "invalid epsilon value ", o.eps, " in ", where);
  FULGUR_CHECK(o.momentum >= 0, "RMSprop", "invalid momentum value ", o.momentum, " in ", where);
  FULGUR_CHECK(o.weight_decay >= 0, "RMSprop", "invalid weight_decay value ", o.weight_decay, " in ", where);
  FULGUR_CHECK(o.alpha >= 0, "RMSprop", "invalid alpha value ", o.alpha, " in ", where);
}

std::vector<std::string> RMSprop::required_group_keys() const { return {"lr", "alpha", "eps", "weight_decay"}; }

void RMSprop::step_group(ParamGroup& group) {
  const RMSpropOptions o = RMSpropOptions::from_value(group.options);
  for (Tensor& p : group.params) {
    const Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    State& s = state_.get_or_create(p);
    if (!s.square_avg.defined()) s.square_avg = zeros_like(p);
    // Created when first needed (PyTorch creates them with the state, and fails if momentum or
    // centered is turned on later).
    if (o.momentum > 0 && !s.momentum_buffer.defined()) s.momentum_buffer = zeros_like(p);
    if (o.centered && !s.grad_avg.defined()) s.grad_avg = zeros_like(p);
    s.step += 1;

    const Tensor& buf = o.momentum > 0 ? s.momentum_buffer : p;  // p: a stand-in, unused
    const Tensor& gavg = o.centered ? s.grad_avg : p;
    if (internal::use_fused(o.foreach, {&p, &grad, &s.square_avg, &buf, &gavg})) {
      if (p.dtype() == kFloat32) {
        rmsprop_fused(p.data_ptr<float>(), grad.data_ptr<float>(), s.square_avg.data_ptr<float>(),
                      o.momentum > 0 ? data_or_null<float>(s.momentum_buffer) : nullptr,
                      o.centered ? data_or_null<float>(s.grad_avg) : nullptr, p.numel(), o);
      } else {
        rmsprop_fused(p.data_ptr<double>(), grad.data_ptr<double>(), s.square_avg.data_ptr<double>(),
                      o.momentum > 0 ? data_or_null<double>(s.momentum_buffer) : nullptr,
                      o.centered ? data_or_null<double>(s.grad_avg) : nullptr, p.numel(), o);
      }
      internal::mark_written({&p, &s.square_avg, &s.momentum_buffer, &s.grad_avg});
      continue;
    }
    Tensor g = o.maximize ? grad.neg() : grad;
    if (o.weight_decay != 0) g = g.add(p, o.weight_decay);
    s.square_avg.mul_(o.alpha).add_(g.mul(g), 1 - o.alpha);
    Tensor avg;
    if (o.centered) {
      s.grad_avg.mul_(o.alpha).add_(g, 1 - o.alpha);
      avg = s.square_avg.add(s.grad_avg.mul(s.grad_avg), -1).sqrt_();
    } else {
      avg = s.square_avg.sqrt();
    }
    avg.add_(o.eps);
    if (o.momentum > 0) {
      s.momentum_buffer.mul_(o.momentum).add_(g.div(avg));
      p.add_(s.momentum_buffer, -o.lr);
    } else {
      p.add_(g.div(avg), -o.lr);
    }
  }
}

std::vector<std::pair<const TensorImpl*, Value>> RMSprop::save_state() const {
  std::vector<std::pair<const TensorImpl*, Value>> out;
  for (const auto& [param, s] : state_.entries()) {
    Value v = Value::dict({{"step", s.step}, {"square_avg", s.square_avg}});
    if (s.momentum_buffer.defined()) v.set("momentum_buffer", s.momentum_buffer);
    if (s.grad_avg.defined()) v.set("grad_avg", s.grad_avg);
    out.emplace_back(param, std::move(v));
  }
  return out;
}

void RMSprop::load_state(const std::vector<SavedParamState>& states) {
  const char* op = "RMSprop::load_state_dict";
  ParamStateMap<State> loaded;
  for (const auto& saved : states) {
    State& s = loaded.get_or_create(saved.param);
    s.step = detail::state_step(saved, op);
    s.square_avg = detail::state_tensor(saved, "square_avg", true, op);
    s.momentum_buffer = detail::state_tensor(saved, "momentum_buffer", false, op);
    s.grad_avg = detail::state_tensor(saved, "grad_avg", false, op);
  }
  state_.swap(loaded);
}

}  // namespace fulgur::optim
