// Adam and AdamW: the fused loop for contiguous float32/float64 CPU tensors, the device's
// multi-tensor kernel for CUDA float32 ones (one launch per device and step number), tensor
// ops otherwise; all in PyTorch's operation order (tests/optim_test.cc checks the CPU paths,
// tests/cuda_fused_checks.h the device's against them).
#include "fulgur/optim/adam.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fulgur/optim/internal/device_fused.h"
#include "fulgur/optim/internal/fused.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::optim {
namespace {

// One group's options and this step's bias corrections, whichever options struct they came from.
struct Hyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize, decoupled;
  std::optional<bool> foreach;
  double step_size, bias_correction2_sqrt;
};

template <typename T>
void adam_fused(T* p_, const T* g_, T* m_, T* v_, T* vmax_, int64_t n, const Hyper& h) {
  const T b1 = static_cast<T>(h.beta1), one_b1 = static_cast<T>(1 - h.beta1);
  const T b2 = static_cast<T>(h.beta2), one_b2 = static_cast<T>(1 - h.beta2);
  const T wd = static_cast<T>(h.weight_decay), decay = static_cast<T>(1 - h.lr * h.weight_decay);
  const T bc2s = static_cast<T>(h.bias_correction2_sqrt), eps = static_cast<T>(h.eps);
  const T neg_step = static_cast<T>(-h.step_size);
  internal::with_flags(
      [&](auto maximize, auto decoupled, auto l2, auto amsgrad) {
        internal::fused_for(n, [=](int64_t begin, int64_t end) {
          T* __restrict p = p_;
          const T* __restrict g = g_;
          T* __restrict m = m_;
          T* __restrict v = v_;
          T* __restrict vmax = vmax_;
          // Element i only touches index i of each array: no loop-carried dependence.
#pragma GCC ivdep
          for (int64_t i = begin; i < end; ++i) {
            T gi = g[i];
            if constexpr (maximize) gi = -gi;
            T pi = p[i];
            if constexpr (decoupled) pi = pi * decay;
            if constexpr (l2) gi = gi + wd * pi;
            const T mi = m[i] * b1 + one_b1 * gi;
            const T vi = v[i] * b2 + one_b2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            T vhat = vi;
            if constexpr (amsgrad) {
              const T old = vmax[i];
              // torch.maximum, NaN from either side winning, as two selects (which vectorise;
              // `old != old || old > vi` does not).
              const T larger = old > vi ? old : vi;
              vhat = old != old ? old : larger;
              vmax[i] = vhat;
            }
            const T denom = std::sqrt(vhat) / bc2s + eps;
            p[i] = pi + neg_step * mi / denom;
          }
        });
      },
      h.maximize, h.decoupled, !h.decoupled && h.weight_decay != 0, h.amsgrad);
}

Hyper hyper_of(const Value& options, bool decoupled) {
  if (decoupled) {
    const AdamWOptions o = AdamWOptions::from_value(options);
    return {o.lr, o.betas.first, o.betas.second, o.eps, o.weight_decay, o.amsgrad, o.maximize, true, o.foreach, 0, 0};
  }
  const AdamOptions o = AdamOptions::from_value(options);
  return {o.lr, o.betas.first, o.betas.second, o.eps, o.weight_decay, o.amsgrad, o.maximize, false, o.foreach, 0, 0};
}

}  // namespace

Value AdamOptions::to_value() const {
  return Value::dict({{"lr", lr},
                      {"betas", Value::tuple({betas.first, betas.second})},
                      {"eps", eps},
                      {"weight_decay", weight_decay},
                      {"amsgrad", amsgrad},
                      {"maximize", maximize},
                      {"foreach", detail::optional_bool_value(foreach)},
                      {"capturable", false},
                      {"differentiable", false},
                      {"fused", false}});
}

AdamOptions AdamOptions::from_value(const Value& v) {
  const AdamOptions d;
  const char* op = "Adam";
  return {.lr = detail::read_double(v, "lr", d.lr, op),
          .betas = detail::read_pair(v, "betas", d.betas, op),
          .eps = detail::read_double(v, "eps", d.eps, op),
          .weight_decay = detail::read_double(v, "weight_decay", d.weight_decay, op),
          .amsgrad = detail::read_bool(v, "amsgrad", d.amsgrad, op),
          .maximize = detail::read_bool(v, "maximize", d.maximize, op),
          .foreach = detail::read_optional_bool(v, "foreach", d.foreach, op)};
}

Value AdamWOptions::to_value() const {
  return Value::dict({{"lr", lr},
                      {"betas", Value::tuple({betas.first, betas.second})},
                      {"eps", eps},
                      {"weight_decay", weight_decay},
                      {"amsgrad", amsgrad},
                      {"foreach", detail::optional_bool_value(foreach)},
                      {"maximize", maximize},
                      {"capturable", false}});
}

AdamWOptions AdamWOptions::from_value(const Value& v) {
  const AdamWOptions d;
  const char* op = "AdamW";
  return {.lr = detail::read_double(v, "lr", d.lr, op),
          .betas = detail::read_pair(v, "betas", d.betas, op),
          .eps = detail::read_double(v, "eps", d.eps, op),
          .weight_decay = detail::read_double(v, "weight_decay", d.weight_decay, op),
          .amsgrad = detail::read_bool(v, "amsgrad", d.amsgrad, op),
          .maximize = detail::read_bool(v, "maximize", d.maximize, op),
          .foreach = detail::read_optional_bool(v, "foreach", d.foreach, op)};
}

AdamBase::AdamBase(std::string name, Value defaults, bool decoupled_weight_decay)
    : Optimizer(std::move(name), std::move(defaults)), decoupled_(decoupled_weight_decay) {}

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::vector<ParamGroup>{{.params = std::move(params)}}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults) : AdamBase("Adam", defaults.to_value(), false) {
  init_param_groups(std::move(groups));
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{{.params = std::move(params)}}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults)
    : AdamBase("AdamW", defaults.to_value(), true) {
  init_param_groups(std::move(groups));
}

void AdamBase::check_group_options(const Value& options, const std::string& where) const {
  const Hyper h = hyper_of(options, decoupled_);
  const char* op = name().c_str();
  FULGUR_CHECK(h.lr >= 0, op, "invalid learning rate ", h.lr, " in ", where);
  FULGUR_CHECK(h.eps >= 0, op, "invalid epsilon value ", h.eps, " in ", where);
  FULGUR_CHECK(h.beta1 >= 0 && h.beta1 < 1, op, "invalid beta parameter at index 0: ", h.beta1, " in ", where,
               "; hint: betas must be in [0, 1)");
  FULGUR_CHECK(h.beta2 >= 0 && h.beta2 < 1, op, "invalid beta parameter at index 1: ", h.beta2, " in ", where,
               "; hint: betas must be in [0, 1)");
  FULGUR_CHECK(h.weight_decay >= 0, op, "invalid weight_decay value ", h.weight_decay, " in ", where);
}

std::vector<std::string> AdamBase::required_group_keys() const { return {"lr", "betas", "eps", "weight_decay"}; }

void AdamBase::step_group(ParamGroup& group) {
  Hyper h = hyper_of(group.options, decoupled_);
  // Device parameters for the multi-tensor kernel, by device and step number (the bias
  // corrections are per launch); each batch keeps the state tensors alive until it runs.
  // A few batches at most: found by a linear search.
  struct Batch {
    Device device;
    int64_t step = 0;
    std::vector<kernels::AdamTensorArgs> args;
    std::vector<Tensor> written;
  };
  std::vector<Batch> device_batches;
  for (Tensor& p : group.params) {
    const Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    bool created = false;
    State& s = state_.get_or_create(p, &created);
    if (created) {
      s.exp_avg = zeros_like(p);
      s.exp_avg_sq = zeros_like(p);
      if (h.amsgrad) s.max_exp_avg_sq = zeros_like(p);
    }
    if (h.amsgrad && !s.max_exp_avg_sq.defined()) s.max_exp_avg_sq = zeros_like(p);  // amsgrad turned on later
    s.step += 1;
    // Bias corrections in double, from the step count, as PyTorch's step_t.item() path.
    const double step = static_cast<double>(s.step);
    const double bias_correction1 = 1 - std::pow(h.beta1, step);
    const double bias_correction2 = 1 - std::pow(h.beta2, step);
    h.step_size = h.lr / bias_correction1;
    h.bias_correction2_sqrt = std::sqrt(bias_correction2);

    if (!h.amsgrad && internal::use_device_fused(h.foreach, {&p, &grad, &s.exp_avg, &s.exp_avg_sq})) {
      auto found = std::find_if(device_batches.begin(), device_batches.end(),
                                [&](const Batch& b) { return b.device == p.device() && b.step == s.step; });
      Batch& batch = found != device_batches.end() ? *found : device_batches.emplace_back(Batch{p.device(), s.step});
      batch.args.push_back({.param = static_cast<char*>(p.data_ptr()),
                            .grad = static_cast<const char*>(grad.data_ptr()),
                            .exp_avg = static_cast<char*>(s.exp_avg.data_ptr()),
                            .exp_avg_sq = static_cast<char*>(s.exp_avg_sq.data_ptr()),
                            .numel = p.numel()});
      batch.written.insert(batch.written.end(), {p, grad, s.exp_avg, s.exp_avg_sq});
      continue;
    }
    const Tensor* vmax = h.amsgrad ? &s.max_exp_avg_sq : &s.exp_avg;  // exp_avg: a stand-in, unused
    if (internal::use_fused(h.foreach, {&p, &grad, &s.exp_avg, &s.exp_avg_sq, vmax})) {
      if (p.dtype() == kFloat32) {
        adam_fused(p.data_ptr<float>(), grad.data_ptr<float>(), s.exp_avg.data_ptr<float>(),
                   s.exp_avg_sq.data_ptr<float>(), h.amsgrad ? s.max_exp_avg_sq.data_ptr<float>() : nullptr,
                   p.numel(), h);
      } else {
        adam_fused(p.data_ptr<double>(), grad.data_ptr<double>(), s.exp_avg.data_ptr<double>(),
                   s.exp_avg_sq.data_ptr<double>(), h.amsgrad ? s.max_exp_avg_sq.data_ptr<double>() : nullptr,
                   p.numel(), h);
      }
      internal::mark_written({&p, &s.exp_avg, &s.exp_avg_sq, &s.max_exp_avg_sq});
      continue;
    }
    Tensor g = h.maximize ? grad.neg() : grad;
    if (h.decoupled) {
      p.mul_(1 - h.lr * h.weight_decay);
    } else if (h.weight_decay != 0) {
      g = g.add(p, h.weight_decay);
    }
    s.exp_avg.mul_(h.beta1).add_(g, 1 - h.beta1);
    s.exp_avg_sq.mul_(h.beta2).add_(g.mul(g), 1 - h.beta2);
    Tensor denom;
    if (h.amsgrad) {
      s.max_exp_avg_sq.copy_(maximum(s.max_exp_avg_sq, s.exp_avg_sq));
      denom = s.max_exp_avg_sq.sqrt();
    } else {
      denom = s.exp_avg_sq.sqrt();
    }
    denom.div_(h.bias_correction2_sqrt).add_(h.eps);
    p.add_(s.exp_avg.div(denom), -h.step_size);
  }
  for (const Batch& batch : device_batches) {
    kernels::AdamArgs a;
    a.dtype = batch.written.front().dtype();
    a.tensors = batch.args.data();
    a.count = static_cast<int64_t>(batch.args.size());
    a.lr = h.lr;
    a.beta1 = h.beta1;
    a.beta2 = h.beta2;
    a.eps = h.eps;
    a.weight_decay = h.weight_decay;
    a.step = batch.step;
    a.decoupled = h.decoupled;
    a.maximize = h.maximize;
    kernels::kernels_for(batch.device.type).adam_step(a);
    for (size_t i = 0; i < batch.written.size(); i += 4)  // param, grad (read only), exp_avg, exp_avg_sq
      internal::mark_written({&batch.written[i], &batch.written[i + 2], &batch.written[i + 3]});
  }
}

std::vector<std::pair<const TensorImpl*, Value>> AdamBase::save_state() const {
  std::vector<std::pair<const TensorImpl*, Value>> out;
  for (const auto& [param, s] : state_.entries()) {
    Value v = Value::dict({{"step", detail::step_tensor(s.step)}, {"exp_avg", s.exp_avg}, {"exp_avg_sq", s.exp_avg_sq}});
    if (s.max_exp_avg_sq.defined()) v.set("max_exp_avg_sq", s.max_exp_avg_sq);
    out.emplace_back(param, std::move(v));
  }
  return out;
}

void AdamBase::load_state(const std::vector<SavedParamState>& states) {
  const std::string op = name() + "::load_state_dict";
  ParamStateMap<State> loaded;
  for (const auto& saved : states) {
    State& s = loaded.get_or_create(saved.param);
    s.step = detail::state_step(saved, op.c_str());
    s.exp_avg = detail::state_tensor(saved, "exp_avg", true, op.c_str());
    s.exp_avg_sq = detail::state_tensor(saved, "exp_avg_sq", true, op.c_str());
    s.max_exp_avg_sq = detail::state_tensor(saved, "max_exp_avg_sq", false, op.c_str());
  }
  state_.swap(loaded);
}

}  // namespace fulgur::optim
