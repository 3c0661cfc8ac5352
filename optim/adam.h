// Adam and AdamW: PyTorch 1.13's torch.optim.Adam and torch.optim.AdamW, step for step. They
// differ only in weight decay: Adam adds it to the gradient (L2), AdamW shrinks the parameter
// (decoupled). Per parameter with a gradient, at step t:
//   g = grad (or -grad if maximize)
//   Adam:  g = g + weight_decay * p          AdamW:  p = p * (1 - lr * weight_decay)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   v_hat = amsgrad ? (v_max = max(v_max, v)) : v
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "fulgur/optim/optimizer.h"
#include "fulgur/optim/param_state.h"

namespace fulgur::optim {

// optim::Adam(model.parameters(), {.lr = 1e-3, .betas = {0.9, 0.999}})
struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;  // L2 penalty added to the gradient
  bool amsgrad = false;
  bool maximize = false;
  // nullopt/true: the fused per-element loop where it applies; false: tensor ops only.
  std::optional<bool> foreach = std::nullopt;

  // The group dict in PyTorch's key order (capturable, differentiable, fused: always False).
  Value to_value() const;
  // Reads a group dict; keys it lacks keep the defaults above.
  static AdamOptions from_value(const Value& options);
};

// The same fields; only weight_decay's default (and meaning) differs.
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: p *= 1 - lr * weight_decay
  bool amsgrad = false;
  bool maximize = false;
  std::optional<bool> foreach = std::nullopt;

  Value to_value() const;  // PyTorch 1.13's AdamW keys (no differentiable, no fused)
  static AdamWOptions from_value(const Value& options);
};

// What Adam and AdamW share: the state (step, exp_avg, exp_avg_sq, max_exp_avg_sq) and the
// update.
class AdamBase : public Optimizer {
 protected:
  AdamBase(std::string name, Value defaults, bool decoupled_weight_decay);

  void step_group(ParamGroup& group) override;
  void check_group_options(const Value& options, const std::string& where) const override;
  std::vector<std::string> required_group_keys() const override;
  std::vector<std::pair<const TensorImpl*, Value>> save_state() const override;
  void load_state(const std::vector<SavedParamState>& states) override;

 private:
  struct State {
    int64_t step = 0;  // saved as a float32 tensor, as PyTorch does
    Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;  // max_exp_avg_sq only with amsgrad
  };
  bool decoupled_;
  ParamStateMap<State> state_;
};

class Adam : public AdamBase {
 public:
  using Options = AdamOptions;
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  explicit Adam(std::vector<ParamGroup> groups, AdamOptions defaults = {});
};

class AdamW : public AdamBase {
 public:
  using Options = AdamWOptions;
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  explicit AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults = {});
};

}  // namespace fulgur::optim
