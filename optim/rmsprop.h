// RMSprop: PyTorch 1.13's torch.optim.RMSprop, step for step. Per parameter with a gradient:
//   g = grad (or -grad if maximize) + weight_decay * p
//   v = alpha * v + (1 - alpha) * g * g
//   avg = sqrt(v - a * a) + eps, with a = alpha * a + (1 - alpha) * g    if centered
//   avg = sqrt(v) + eps                                                  otherwise
//   b = momentum * b + g / avg;  p = p - lr * b                          if momentum > 0
//   p = p - lr * g / avg                                                 otherwise
#pragma once

#include <optional>
#include <vector>

#include "fulgur/optim/optimizer.h"
#include "fulgur/optim/param_state.h"

namespace fulgur::optim {

// optim::RMSprop(model.parameters(), {.lr = 1e-2, .alpha = 0.99, .centered = true})
struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  // smoothing constant of the squared-gradient average
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;  // normalise by the gradient's estimated variance
  bool maximize = false;
  // nullopt/true: the fused per-element loop where it applies; false: tensor ops only.
  std::optional<bool> foreach = std::nullopt;

  // The group dict in PyTorch's key order ("differentiable" is always False).
  Value to_value() const;
  // Reads a group dict; keys it lacks keep the defaults above.
  static RMSpropOptions from_value(const Value& options);
};

class RMSprop : public Optimizer {
 public:
  using Options = RMSpropOptions;
  explicit RMSprop(std::vector<Tensor> params, RMSpropOptions options = {});
  explicit RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults = {});

 protected:
  void step_group(ParamGroup& group) override;
  void check_group_options(const Value& options, const std::string& where) const override;
  std::vector<std::string> required_group_keys() const override;
  std::vector<std::pair<const TensorImpl*, Value>> save_state() const override;
  void load_state(const std::vector<SavedParamState>& states) override;

 private:
  struct State {
    int64_t step = 0;  // saved as an int, as PyTorch does
    Tensor square_avg;
    Tensor momentum_buffer;  // only with momentum > 0
    Tensor grad_avg;         // only if centered
  };
  ParamStateMap<State> state_;
};

}  // namespace fulgur::optim
