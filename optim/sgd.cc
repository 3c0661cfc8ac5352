// SGD: the fused loop for contiguous float32/float64 CPU tensors, tensor ops otherwise. Both
// follow PyTorch's operation order (tests/optim_test.cc checks both against PyTorch).
#include "fulgur/optim/sgd.h"

#include "fulgur/optim/internal/fused.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::optim {
namespace {

template <typename T>
void sgd_fused(T* p_, const T* g_, T* buf_, bool first, int64_t n, const SGDOptions& o) {
  const T wd = static_cast<T>(o.weight_decay), mom = static_cast<T>(o.momentum);
  const T damp1 = static_cast<T>(1 - o.dampening), neg_lr = static_cast<T>(-o.lr);
  internal::with_flags(
      [&](auto maximize, auto use_wd, auto use_mom, auto nesterov, auto is_first) {
        internal::fused_for(n, [=](int64_t begin, int64_t end) {
          T* __restrict p = p_;
          const T* __restrict g = g_;
          T* __restrict buf = buf_;
          // Element i only touches index i of each array: no loop-carried dependence.
#pragma GCC ivdep
          for (int64_t i = begin; i < end; ++i) {
            T d = g[i];
            if constexpr (maximize) d = -d;
            if constexpr (use_wd) d = d + wd * p[i];
            if constexpr (use_mom) {
              T b;
              if constexpr (is_first) {
                b = d;
              } else {
                b = buf[i] * mom + damp1 * d;
              }
              buf[i] = b;
              if constexpr (nesterov) {
                d = d + mom * b;
              } else {
                d = b;
              }
            }
            p[i] = p[i] + neg_lr * d;
          }
        });
      },
      o.maximize, o.weight_decay != 0, o.momentum != 0, o.nesterov, first);
}

}  // namespace

Value SGDOptions::to_value() const {
  return Value::dict({{"lr", lr},
                      {"momentum", momentum},
                      {"dampening", dampening},
                      {"weight_decay", weight_decay},
                      {"nesterov", nesterov},
                      {"maximize", maximize},
                      {"foreach", detail::optional_bool_value(foreach)},
                      {"differentiable", false}});
}

SGDOptions SGDOptions::from_value(const Value& v) {
  const SGDOptions d;
  const char* op = "SGD";
  return {.lr = detail::read_double(v, "lr", d.lr, op),
          .momentum = detail::read_double(v, "momentum", d.momentum, op),
          .dampening = detail::read_double(v, "dampening", d.dampening, op),
          .weight_decay = detail::read_double(v, "weight_decay", d.weight_decay, op),
          .nesterov = detail::read_bool(v, "nesterov", d.nesterov, op),
          .maximize = detail::read_bool(v, "maximize", d.maximize, op),
          .foreach = detail::read_optional_bool(v, "foreach", d.foreach, op)};
}

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{{.params = std::move(params)}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults) : Optimizer("SGD", defaults.to_value()) {
  init_param_groups(std::move(groups));
}

void SGD::check_group_options(const Value& options, const std::string& where) const {
  const SGDOptions o = SGDOptions::from_value(options);
  FULGUR_CHECK(o.lr >= 0, "SGD", "invalid learning rate ", o.lr, " in ", where);
  FULGUR_CHECK(o.momentum >= 0, "SGD", "invalid momentum value ", o.momentum, " in ", where);
  FULGUR_CHECK(o.weight_decay >= 0, "SGD", "invalid weight_decay value ", o.weight_decay, " in ", where);
  FULGUR_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD",
               "Nesterov momentum requires a momentum and zero dampening (", where, " has momentum ", o.momentum,
               ", dampening ", o.dampening, ")");
}

std::vector<std::string> SGD::required_group_keys() const { return {"lr", "momentum", "dampening", "weight_decay"}; }

void SGD::step_group(ParamGroup& group) {
  const SGDOptions o = SGDOptions::from_value(group.options);
  for (Tensor& p : group.params) {
    const Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    State& s = state_.get_or_create(p);
    const bool first = !s.momentum_buffer.defined();
    if (o.momentum != 0 && first && internal::use_fused(o.foreach, {&p, &grad}))
      s.momentum_buffer = empty_like(p);
    if (internal::use_fused(o.foreach, {&p, &grad}) &&
        (o.momentum == 0 || internal::use_fused(o.foreach, {&p, &s.momentum_buffer}))) {
      if (p.dtype() == kFloat32) {
        sgd_fused(p.data_ptr<float>(), grad.data_ptr<float>(),
                  o.momentum != 0 ? s.momentum_buffer.data_ptr<float>() : nullptr, first, p.numel(), o);
      } else {
        sgd_fused(p.data_ptr<double>(), grad.data_ptr<double>(),
                  o.momentum != 0 ? s.momentum_buffer.data_ptr<double>() : nullptr, first, p.numel(), o);
      }
      internal::mark_written({&p, &s.momentum_buffer});
      continue;
    }
    Tensor d = o.maximize ? grad.neg() : grad;
    if (o.weight_decay != 0) d = d.add(p, o.weight_decay);
    if (o.momentum != 0) {
      if (!s.momentum_buffer.defined()) {
        s.momentum_buffer = d.clone();
      } else {
        s.momentum_buffer.mul_(o.momentum).add_(d, 1 - o.dampening);
      }
      d = o.nesterov ? d.add(s.momentum_buffer, o.momentum) : s.momentum_buffer;
    }
    p.add_(d, -o.lr);
  }
}

std::vector<std::pair<const TensorImpl*, Value>> SGD::save_state() const {
  std::vector<std::pair<const TensorImpl*, Value>> out;
  for (const auto& [param, s] : state_.entries()) {
    out.emplace_back(param, Value::dict({{"momentum_buffer",
                                          s.momentum_buffer.defined() ? Value(s.momentum_buffer) : Value()}}));
  }
  return out;
}

void SGD::load_state(const std::vector<SavedParamState>& states) {
  ParamStateMap<State> loaded;
  for (const auto& saved : states) {
    loaded.get_or_create(saved.param).momentum_buffer =
        detail::state_tensor(saved, "momentum_buffer", /*required=*/false, "SGD::load_state_dict");
  }
  state_.swap(loaded);
}

}  // namespace fulgur::optim
