#include "fulgur/optim/grad_scaler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/optim/internal/device_fused.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::optim {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  FULGUR_CHECK(options_.init_scale > 0 && std::isfinite(options_.init_scale), "GradScaler",
               "init_scale must be a positive finite number, got ", options_.init_scale);
  FULGUR_CHECK(options_.growth_factor > 1.0, "GradScaler", "The growth factor must be > 1.0, got ",
               options_.growth_factor);
  FULGUR_CHECK(options_.backoff_factor > 0.0 && options_.backoff_factor < 1.0, "GradScaler",
               "The backoff factor must be < 1.0 (and > 0), got ", options_.backoff_factor);
  FULGUR_CHECK(options_.growth_interval > 0, "GradScaler", "growth_interval must be a positive integer, got ",
               options_.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const {
  if (!options_.enabled) return loss;
  return loss.mul(scale_);
}

void GradScaler::unscale_(Optimizer& optimizer) {
  if (!options_.enabled) return;
  FULGUR_CHECK(!unscaled_, "GradScaler.unscale_", "unscale_() has already been called on this optimizer since "
               "the last update(); hint: call it once per step, before clipping");
  // PyTorch multiplies by the float32 reciprocal of the scale.
  const double inv_scale = static_cast<double>(1.0f / static_cast<float>(scale_));
  // Device gradients the fused kernel takes, per device: one launch checks and unscales them
  // all (torch._amp_foreach_non_finite_check_and_unscale_), writing one flag per device.
  struct DeviceGrads {
    Device device;
    std::vector<Tensor> grads;
  };
  std::vector<DeviceGrads> fused;
  Tensor all_finite;
  for (const ParamGroup& group : optimizer.param_groups()) {
    for (const Tensor& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (internal::use_device_fused(std::nullopt, {&g}) &&
          kernels::kernels_for(g.device().type).unscale_and_check_finite) {
        auto it = std::find_if(fused.begin(), fused.end(), [&](const DeviceGrads& d) { return d.device == g.device(); });
        if (it == fused.end()) it = fused.insert(fused.end(), {g.device(), {}});
        it->grads.push_back(g);
        continue;
      }
      // |g| < inf is false for inf and NaN: one bool per gradient, combined on its device.
      Tensor finite = g.abs().lt(std::numeric_limits<double>::infinity()).all();
      all_finite = all_finite.defined() ? all_finite.logical_and(finite.to(all_finite.device())) : finite;
      g.mul_(inv_scale);
    }
  }
  found_inf_ = all_finite.defined() && !all_finite.item<bool>();
  std::vector<Tensor> flags;  // one per device, read after every device's launch is queued
  for (DeviceGrads& d : fused) {
    std::vector<char*> data;
    std::vector<int64_t> numel;
    for (const Tensor& g : d.grads) {
      data.push_back(static_cast<char*>(g.data_ptr()));
      numel.push_back(g.numel());
    }
    const Tensor found = zeros({1}, {.dtype = d.grads.front().dtype(), .device = d.device});
    kernels::UnscaleArgs a;
    a.dtype = found.dtype();
    a.grads = data.data();
    a.numel = numel.data();
    a.count = static_cast<int64_t>(data.size());
    a.inv_scale = inv_scale;
    a.found_inf = static_cast<char*>(found.data_ptr());
    kernels::kernels_for(d.device.type).unscale_and_check_finite(a);
    for (const Tensor& g : d.grads) g.bump_version();
    flags.push_back(found);
  }
  for (const Tensor& found : flags)
    if (found.item<double>() != 0.0) found_inf_ = true;  // waits for the kernel
  unscaled_ = true;
}

bool GradScaler::step(Optimizer& optimizer) {
  if (!options_.enabled) {
    optimizer.step();
    return true;
  }
  if (!unscaled_) unscale_(optimizer);
  if (found_inf_) return false;
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!options_.enabled) return;
  if (found_inf_) {  // set only by unscale_
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
  unscaled_ = false;
  found_inf_ = false;
}

Value GradScaler::state_dict() const {
  if (!options_.enabled) return Value::dict();
  Value d = Value::dict();
  d.set("scale", scale_);
  d.set("growth_factor", options_.growth_factor);
  d.set("backoff_factor", options_.backoff_factor);
  d.set("growth_interval", options_.growth_interval);
  d.set("_growth_tracker", growth_tracker_);
  return d;
}

void GradScaler::load_state_dict(const Value& state) {
  FULGUR_CHECK(state.is_dict(), "GradScaler.load_state_dict", "expected a dict, got ", state.type_name());
  FULGUR_CHECK(options_.enabled, "GradScaler.load_state_dict", "the scaler is disabled; hint: enable it first");
  FULGUR_CHECK(state.contains("scale"), "GradScaler.load_state_dict",
               "The source state dict is empty, possibly because it was saved from a disabled instance of "
               "GradScaler.");
  scale_ = state.at("scale").to_double();
  if (state.contains("growth_factor")) options_.growth_factor = state.at("growth_factor").to_double();
  if (state.contains("backoff_factor")) options_.backoff_factor = state.at("backoff_factor").to_double();
  if (state.contains("growth_interval")) options_.growth_interval = state.at("growth_interval").as_int();
  if (state.contains("_growth_tracker")) growth_tracker_ = state.at("_growth_tracker").as_int();
}

}  // namespace fulgur::optim
