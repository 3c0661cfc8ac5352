#include "fulgur/trainer/precision.h"

#include <array>
#include <string_view>

#include "fulgur/kernels/error.h"

namespace fulgur::lightning {
namespace {

// Lightning's _PRECISION_INPUT_STR, then the ints and the string aliases, in the order its
// "Allowed precision values" message prints them.
constexpr std::array<std::string_view, 8> kFlags = {"transformer-engine", "transformer-engine-float16", "16-true",
                                                    "16-mixed", "bf16-true", "bf16-mixed", "32-true", "64-true"};

}  // namespace

TruePrecision::TruePrecision(DType dtype) : dtype_(dtype) {
  FULGUR_CHECK(dtype == DType::Float64 || dtype == DType::BFloat16 || dtype == DType::Float16, "Precision",
               "no true-precision plugin for ", dtype, "; hint: float64, bfloat16 or float16");
}

std::string TruePrecision::precision() const {
  return dtype_ == DType::Float64 ? "64-true" : dtype_ == DType::BFloat16 ? "bf16-true" : "16-true";
}

std::string TruePrecision::class_name() const { return dtype_ == DType::Float64 ? "DoublePrecision" : "HalfPrecision"; }

void TruePrecision::convert_module(nn::Module& module) { module.to(dtype_); }

Value TruePrecision::convert_input(const Value& batch) const {
  return map_tensors(batch, [this](const Tensor& t) { return t.is_floating_point() ? t.to(dtype_) : t; });
}

Tensor Precision::optimizer_step(optim::Optimizer& optimizer, const std::function<Tensor()>& closure) {
  if (!closure) {
    optimizer.step();
    return Tensor();
  }
  return optimizer.step(closure);
}

MixedPrecision::MixedPrecision(std::string precision, Device device)
    : precision_(std::move(precision)), device_(device),
      scaler_(optim::GradScalerOptions{.enabled = precision_ == "16-mixed"}) {
  FULGUR_CHECK(precision_ == "bf16-mixed" || precision_ == "16-mixed", "MixedPrecision",
               "`precision=", precision_, "` does not use mixed precision; hint: \"bf16-mixed\" or \"16-mixed\"");
}

std::unique_ptr<AutocastGuard> MixedPrecision::forward_context() const {
  return std::make_unique<AutocastGuard>(device_, precision_ == "bf16-mixed" ? DType::BFloat16 : DType::Float16);
}

Tensor MixedPrecision::pre_backward(const Tensor& loss) { return scaler_.scale(loss); }

void MixedPrecision::unscale_gradients(optim::Optimizer& optimizer) { scaler_.unscale_(optimizer); }

// Lightning's MixedPrecision.optimizer_step with a scaler: the closure (which unscaled the
// gradients before clipping), then scaler.step and scaler.update. A closure that ran no
// backward (training_step returned nothing) never unscaled: no step, no update, as Lightning.
Tensor MixedPrecision::optimizer_step(optim::Optimizer& optimizer, const std::function<Tensor()>& closure) {
  if (!scaler_.is_enabled()) return Precision::optimizer_step(optimizer, closure);
  Tensor loss = closure ? closure() : Tensor();
  if (!scaler_.unscaled()) return loss;
  scaler_.step(optimizer);
  scaler_.update();
  return loss;
}

Value MixedPrecision::state_dict() const { return scaler_.state_dict(); }

void MixedPrecision::load_state_dict(const Value& state) {
  if (scaler_.is_enabled()) scaler_.load_state_dict(state);
}

std::string canonical_precision(const std::string& flag, std::string* warning) {
  if (warning != nullptr) warning->clear();
  for (std::string_view f : kFlags)
    if (flag == f) return flag;
  if (flag == "64" || flag == "32") return flag + "-true";
  if (flag == "16" || flag == "bf16") {
    const std::string canonical = flag + "-mixed";
    if (warning != nullptr)
      *warning = "`precision=" + flag + "` is supported for historical reasons but its usage is discouraged. "
                 "Please set your precision to " + canonical + " instead!";
    return canonical;
  }
  std::string allowed;
  for (std::string_view f : kFlags) allowed += "'" + std::string(f) + "', ";
  allowed += "64, 32, 16, '64', '32', '16', 'bf16'";
  FULGUR_FAIL("Trainer", "Precision '", flag, "' is invalid. Allowed precision values: (", allowed, ")");
}

std::unique_ptr<Precision> make_precision(const std::string& flag, Device device, std::string* warning) {
  if (flag == "32-true") return std::make_unique<Precision>();
  if (flag == "64-true") return std::make_unique<TruePrecision>(DType::Float64);
  if (flag == "16-true") return std::make_unique<TruePrecision>(DType::Float16);
  if (flag == "bf16-true") return std::make_unique<TruePrecision>(DType::BFloat16);
  if (flag == "16-mixed" && device.is_cuda()) return std::make_unique<MixedPrecision>("16-mixed", device);
  if (flag == "16-mixed") {
    // Lightning's _AcceleratorConnector does the same on CPU, where autocast has no float16.
    if (warning != nullptr) {
      *warning = "You passed `Trainer(accelerator='cpu', precision='16-mixed')` but AMP with fp16 is not supported "
                 "on CPU. Using `precision='bf16-mixed'` instead.";
    }
    return std::make_unique<MixedPrecision>("bf16-mixed", device);
  }
  if (flag == "bf16-mixed") return std::make_unique<MixedPrecision>("bf16-mixed", device);
  FULGUR_FAIL("Trainer", "`precision='", flag, "'` needs NVIDIA Transformer Engine, which Fulgur does not have; hint: "
              "use \"bf16-mixed\"");
}

}  // namespace fulgur::lightning
