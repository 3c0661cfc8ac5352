// SGD with momentum, dampening, Nesterov momentum, L2 weight decay and maximize: PyTorch
// 1.13's torch.optim.SGD, step for step. Per parameter with a gradient:
//   g = grad (or -grad if maximize) + weight_decay * p
//   b = g on the first step, else momentum * b + (1 - dampening) * g     (if momentum != 0)
//   g = nesterov ? g + momentum * b : b                                   (if momentum != 0)
//   p = p - lr * g
#pragma once

#include <optional>
#include <vector>

#include "fulgur/optim/optimizer.h"
#include "fulgur/optim/param_state.h"

namespace fulgur::optim {

// optim::SGD(model.parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true})
struct SGDOptions {
  double lr = 1e-3;  // PyTorch 1.13 makes lr required; 1e-3 is PyTorch 2's default
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
  bool maximize = false;
  // nullopt/true: the fused per-element loop where it applies; false: tensor ops only.
  std::optional<bool> foreach = std::nullopt;

  // The group dict in PyTorch's key order ("differentiable" is always False).
  Value to_value() const;
  // Reads a group dict; keys it lacks keep the defaults above.
  static SGDOptions from_value(const Value& options);
};

class SGD : public Optimizer {
 public:
  using Options = SGDOptions;
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  explicit SGD(std::vector<ParamGroup> groups, SGDOptions defaults = {});

 protected:
  void step_group(ParamGroup& group) override;
  void check_group_options(const Value& options, const std::string& where) const override;
  std::vector<std::string> required_group_keys() const override;
  std::vector<std::pair<const TensorImpl*, Value>> save_state() const override;
  void load_state(const std::vector<SavedParamState>& states) override;

 private:
  struct State {
    Tensor momentum_buffer;  // undefined until a step with momentum (saved as None)
  };
  ParamStateMap<State> state_;
};

}  // namespace fulgur::optim
