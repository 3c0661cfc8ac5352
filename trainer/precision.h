// L::Precision: Lightning's precision plugins (lightning.pytorch.plugins.precision), the third
// piece of a run's setup next to the strategy and the accelerator. The Trainer asks its plugin
// to convert the module (at configure_model), to convert each batch (after transfer), and for
// the context the step hooks run in (training/validation/test/predict_step); a checkpoint
// keeps the plugin's state_dict under its class name when it has one.
//
//   "32-true"     Precision            nothing changes
//   "64-true"     DoublePrecision      module and floating batch tensors in float64
//   "bf16-true"   HalfPrecision        module and floating batch tensors in bfloat16
//   "bf16-mixed"  MixedPrecision       the step hooks under AutocastGuard(device, bfloat16);
//                                      parameters, gradients and optimizer state stay float32
//   "16-mixed"    MixedPrecision       on CUDA: AutocastGuard(cuda, float16) and a GradScaler
//                                      (optim/grad_scaler.h): the loss is scaled before backward,
//                                      gradients unscaled before clipping, steps with inf/NaN
//                                      gradients skipped; its state is saved in checkpoints.
//                                      On CPU it becomes "bf16-mixed" with Lightning's warning
//                                      (CPU autocast has no float16)
//   "16-true"     HalfPrecision        module and floating batch tensors in float16
// Only the transformer-engine flags are refused.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "fulgur/kernels/device.h"
#include "fulgur/kernels/dtype.h"
#include "fulgur/nn/module.h"
#include "fulgur/optim/grad_scaler.h"
#include "fulgur/optim/optimizer.h"
#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/value.h"

namespace fulgur::lightning {

class Precision {
 public:
  Precision() = default;
  virtual ~Precision() = default;
  Precision(const Precision&) = delete;
  Precision& operator=(const Precision&) = delete;

  // The canonical flag ("32-true", "bf16-mixed", ...): Lightning's trainer.precision.
  virtual std::string precision() const { return "32-true"; }
  // Lightning's class name, the checkpoint key of a non-empty state_dict.
  virtual std::string class_name() const { return "Precision"; }

  // The module's parameters and buffers into the plugin's dtype (in place).
  virtual void convert_module(nn::Module& module) {}
  // The floating tensors of a batch (nested lists, tuples, dicts) into the plugin's dtype.
  virtual Value convert_input(const Value& batch) const { return batch; }
  // Held around each step hook: an AutocastGuard for the mixed plugins, nullptr otherwise.
  virtual std::unique_ptr<AutocastGuard> forward_context() const { return nullptr; }

  // ---- the optimization step (Lightning's pre_backward / optimizer_step) -------------------
  // What backward() runs on: the loss itself, or (16-mixed) the loss times the scale.
  virtual Tensor pre_backward(const Tensor& loss) { return loss; }
  // After the closure's backward and before on_before_optimizer_step and gradient clipping:
  // nothing, or (16-mixed) the gradients divided by the scale (scaler.unscale_).
  virtual void unscale_gradients(optim::Optimizer& optimizer) {}
  // Runs the closure (training step, backward, hooks, clipping), then the optimizer's step;
  // 16-mixed skips the step when a gradient was inf/NaN and updates the scale.
  virtual Tensor optimizer_step(optim::Optimizer& optimizer, const std::function<Tensor()>& closure);

  // State saved in checkpoints (a GradScaler's for 16-mixed); empty dict: nothing saved.
  virtual Value state_dict() const { return Value::dict(); }
  virtual void load_state_dict(const Value& state) {}
};

// "64-true" and "bf16-true": everything in one floating dtype (Lightning's DoublePrecision and
// HalfPrecision).
class TruePrecision : public Precision {
 public:
  explicit TruePrecision(DType dtype);
  std::string precision() const override;
  std::string class_name() const override;
  void convert_module(nn::Module& module) override;
  Value convert_input(const Value& batch) const override;
  DType dtype() const { return dtype_; }

 private:
  DType dtype_;
};

// "bf16-mixed" and "16-mixed" (Lightning's MixedPrecision): autocast around the steps, and for
// "16-mixed" a GradScaler around backward and the optimizer step.
class MixedPrecision : public Precision {
 public:
  explicit MixedPrecision(std::string precision = "bf16-mixed", Device device = kCPU);
  std::string precision() const override { return precision_; }
  std::string class_name() const override { return "MixedPrecision"; }
  std::unique_ptr<AutocastGuard> forward_context() const override;
  Tensor pre_backward(const Tensor& loss) override;
  void unscale_gradients(optim::Optimizer& optimizer) override;
  Tensor optimizer_step(optim::Optimizer& optimizer, const std::function<Tensor()>& closure) override;
  Value state_dict() const override;
  void load_state_dict(const Value& state) override;
  // The scaler of "16-mixed" (disabled for "bf16-mixed").
  const optim::GradScaler& scaler() const { return scaler_; }

 private:
  std::string precision_;
  Device device_;
  optim::GradScaler scaler_;
};

// Lightning's precision flag handling (_convert_precision_to_unified_args): the canonical flag
// for a Trainer(precision=...) value, or a fulgur::Error listing the allowed values. The
// historical aliases "64", "32", "16" and "bf16" map to "64-true", "32-true", "16-mixed" and
// "bf16-mixed"; `warning` gets Lightning's discouragement text for "16" and "bf16".
std::string canonical_precision(const std::string& flag, std::string* warning = nullptr);

// The plugin for a canonical flag on `device`. As in Lightning, "16-mixed" off CUDA becomes
// "bf16-mixed" (CPU autocast has no float16) and `warning` gets Lightning's text saying so; the
// transformer-engine flags are refused with a fulgur::Error.
std::unique_ptr<Precision> make_precision(const std::string& canonical_flag, Device device = kCPU,
                                          std::string* warning = nullptr);

}  // namespace fulgur::lightning
