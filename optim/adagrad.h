// Adagrad: PyTorch 1.13's torch.optim.Adagrad, step for step. Per parameter with a gradient,
// at step t:
//   g = grad (or -grad if maximize) + weight_decay * p
//   s = s + g * g                        (s starts at initial_accumulator_value)
//   p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
// As in PyTorch, every parameter's state exists from construction (step 0), so state_dict()
// lists all of them even before the first step.
#pragma once

#include <optional>
#include <vector>

#include "fulgur/optim/optimizer.h"
#include "fulgur/optim/param_state.h"

namespace fulgur::optim {

// optim::Adagrad(model.parameters(), {.lr = 1e-2, .lr_decay = 1e-4})
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;
  // nullopt/true: the fused per-element loop where it applies; false: tensor ops only.
  std::optional<bool> foreach = std::nullopt;

  // The group dict in PyTorch's key order.
  Value to_value() const;
  // Reads a group dict; keys it lacks keep the defaults above.
  static AdagradOptions from_value(const Value& options);
};

class Adagrad : public Optimizer {
 public:
  using Options = AdagradOptions;
  explicit Adagrad(std::vector<Tensor> params, AdagradOptions options = {});
  explicit Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults = {});

 protected:
  void step_group(ParamGroup& group) override;
  void check_group_options(const Value& options, const std::string& where) const override;
  std::vector<std::string> required_group_keys() const override;
  std::vector<std::pair<const TensorImpl*, Value>> save_state() const override;
  void load_state(const std::vector<SavedParamState>& states) override;

 private:
  struct State {
    int64_t step = 0;  // saved as a float32 tensor, as PyTorch does
    Tensor sum;
  };
  ParamStateMap<State> state_;
};

}  // namespace fulgur::optim
