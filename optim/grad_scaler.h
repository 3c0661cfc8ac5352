// GradScaler: dynamic loss scaling for float16 training (torch.amp.GradScaler, the scaler of
// Lightning's precision="16-mixed"). float16 gradients of small losses underflow to zero; the
// loss is multiplied by a large scale before backward, the gradients divided by it before the
// optimizer step, and a step whose gradients hold an inf or NaN (the scale was too large) is
// skipped and the scale halved. After growth_interval steps without one, the scale doubles.
//
//   optim::GradScaler scaler;
//   scaler.scale(loss).backward();
//   scaler.unscale_(opt);              // optional: before clipping gradients
//   scaler.step(opt);                  // unscales if needed; skips on inf/NaN
//   scaler.update();
//
// Semantics of PyTorch 2.x: init_scale 65536, growth_factor 2, backoff_factor 0.5,
// growth_interval 2000; unscale_ multiplies each gradient by the float32 reciprocal of the
// scale; unscale_ twice before update() is an error; state_dict() has PyTorch's keys
// ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker").
// Works on any device: the inf/NaN check is a tensor op on the gradients' device, read back
// once per step.
#pragma once

#include <cstdint>

#include "fulgur/optim/optimizer.h"
#include "fulgur/tensor/tensor.h"
#include "fulgur/tensor/value.h"

namespace fulgur::optim {

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  bool enabled = true;  // false: every method passes through (scale 1, steps never skipped)
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale (in loss's dtype and device).
  Tensor scale(const Tensor& loss) const;
  // Divides the gradients of optimizer's parameters by the scale and records whether any
  // is inf/NaN. Once per step: a second call before update() throws.
  void unscale_(Optimizer& optimizer);
  // unscale_ (if not done yet), then optimizer.step() unless a gradient was inf/NaN.
  // Returns whether the step ran.
  bool step(Optimizer& optimizer);
  // Adjusts the scale after a step (see the header comment) and starts the next step.
  void update();

  double get_scale() const { return options_.enabled ? scale_ : 1.0; }
  int64_t growth_tracker() const { return growth_tracker_; }
  bool is_enabled() const { return options_.enabled; }
  // Whether unscale_ ran in this step, and whether it found an inf or NaN (until update()).
  bool unscaled() const { return unscaled_; }
  bool found_inf() const { return found_inf_; }

  Value state_dict() const;
  void load_state_dict(const Value& state);

 private:
  GradScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
  bool unscaled_ = false;   // unscale_ ran in this step
  bool found_inf_ = false;  // ...and found an inf/NaN
};

}  // namespace fulgur::optim
