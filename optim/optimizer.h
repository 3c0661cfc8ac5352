// Optimizer: the base of every optimizer, laid out like torch.optim.Optimizer. Parameters
// live in param groups, each with its own options; per-parameter state (momentum buffers,
// moment estimates) is created on a parameter's first step; state_dict() is a Value with
// exactly PyTorch's layout, so a checkpoint written by either side loads in the other:
//
//   {"state": {0: {"step": tensor(3.), "exp_avg": Tensor, ...}, 1: {...}},
//    "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}]}
//
// A group's options are a Value dict keyed as in PyTorch ("lr", "momentum", "betas", ...), so
// that schedulers can add their own keys ("initial_lr", "max_lr", ...) as they do in PyTorch
// and state_dict() carries them. Each optimizer reads them into its typed options struct
// (SGDOptions, AdamOptions, ...) at every step.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/tensor/tensor.h"
#include "fulgur/tensor/value.h"

namespace fulgur::optim {

// Parameters that share options. `options` may leave keys out: add_param_group fills them
// from the optimizer's defaults (PyTorch's group.setdefault). Example, with a smaller lr for
// the head: {.params = head.parameters(), .options = Value::dict({{"lr", 1e-4}})}.
struct ParamGroup {
  std::vector<Tensor> params;
  Value options = Value::dict();

  double lr() const;  // options["lr"]
  void set_lr(double lr) { options.set("lr", lr); }
};

// One parameter's saved state, as load_state receives it: the id it has in the state dict,
// the parameter it maps to, and its state dict (tensors already copied and cast).
struct SavedParamState {
  int64_t id = 0;
  Tensor param;
  Value state;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  // Movable so that `return optim::Adam(...)` can hand an optimizer over by value (Lightning's
  // configure_optimizers); a scheduler built on the old object must not be used after a move.
  Optimizer(Optimizer&&) = default;

  // "SGD", "Adam", ...: the op name in error messages.
  const std::string& name() const { return name_; }
  // The constructor's options as a group dict (PyTorch's optimizer.defaults).
  const Value& defaults() const { return defaults_; }
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  // Adds a group (e.g. layers unfrozen while fine-tuning). Options it lacks come from
  // defaults(). Throws for an empty, undefined or non-leaf parameter, a parameter already in
  // another group, or invalid options.
  void add_param_group(ParamGroup group);

  // Drops every parameter's gradient (set_to_none, PyTorch 2's default), or zeroes it in
  // place (detached from any graph).
  void zero_grad(bool set_to_none = true);

  // One update of every parameter that has a gradient, under NoGradGuard. Parameters without
  // a gradient are skipped and get no state.
  virtual void step();
  // Re-evaluates the loss with grad mode on (closure typically zero_grads, runs the model
  // and calls backward), then steps; returns the closure's loss. A subclass that overrides
  // step() should add `using Optimizer::step;` to keep this overload visible.
  Tensor step(const std::function<Tensor()>& closure);

  // PyTorch's layout (see above). Parameters are numbered in group order; the state tensors
  // are shared with the optimizer (as PyTorch's are): clone them to keep a snapshot.
  Value state_dict() const;
  // Loads a state_dict() (from Fulgur or PyTorch). Groups and parameters are matched by
  // position: the group count and each group's size must match, else nothing changes and
  // fulgur::Error says what differs. State tensors are copied and cast to their parameter's
  // dtype and device ("step" keeps its own); group options replace the current ones.
  void load_state_dict(const Value& state_dict);

  // Learning rate of a group (schedulers read and write it here).
  double get_lr(size_t group = 0) const;
  void set_lr(size_t group, double lr);
  void set_lr(double lr);  // every group

 protected:
  // `defaults` is the options struct's to_value(). A derived constructor ends with
  // init_param_groups(groups) (it needs check_group_options, which is virtual).
  Optimizer(std::string name, Value defaults);
  // Checks the defaults, then adds every group; throws if there are no parameters at all.
  void init_param_groups(std::vector<ParamGroup> groups);

  // Updates the parameters of one group. Runs under NoGradGuard.
  virtual void step_group(ParamGroup& group) = 0;
  // Throws fulgur::Error if a (complete) group dict is not valid for this optimizer, e.g. a
  // negative lr or a missing key. `where` says which group, for the message.
  virtual void check_group_options(const Value& options, const std::string& where) const = 0;
  // Keys a saved group must have (the others PyTorch also fills from defaults on load).
  virtual std::vector<std::string> required_group_keys() const { return {"lr"}; }

  // Per-parameter state in state_dict() form, in the order it was created.
  virtual std::vector<std::pair<const TensorImpl*, Value>> save_state() const = 0;
  // Replaces all per-parameter state with the saved states; throws, changing nothing, if one
  // is malformed (a missing key, a tensor whose shape is not its parameter's).
  virtual void load_state(const std::vector<SavedParamState>& states) = 0;

 private:
  // The group's options with the defaults filled in and "params" removed.
  Value complete_options(const Value& options) const;

  std::string name_;
  Value defaults_;
  std::vector<ParamGroup> groups_;
};

namespace detail {
// Typed reads of a group dict for optimizers' from_value(); errors name the key and `op`.
double read_double(const Value& options, const char* key, double fallback, const char* op);
bool read_bool(const Value& options, const char* key, bool fallback, const char* op);
std::pair<double, double> read_pair(const Value& options, const char* key, std::pair<double, double> fallback,
                                    const char* op);
// "foreach": None or a bool.
std::optional<bool> read_optional_bool(const Value& options, const char* key, std::optional<bool> fallback,
                                       const char* op);
inline Value optional_bool_value(std::optional<bool> b) { return b ? Value(*b) : Value(); }
// A state tensor of a saved state: undefined if absent (an error if required) or None;
// throws unless its shape is the parameter's.
Tensor state_tensor(const SavedParamState& saved, const char* key, bool required, const char* op);
// The saved "step": a tensor (Adam, Adagrad) or a number (RMSprop).
int64_t state_step(const SavedParamState& saved, const char* op);
// "step" as Adam and Adagrad store it: a 0-dim float32 tensor.
Value step_tensor(int64_t step);
}  // namespace detail

}  // namespace fulgur::optim
