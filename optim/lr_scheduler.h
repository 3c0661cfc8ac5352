// LRScheduler: the base of the epoch-driven learning-rate schedulers, with PyTorch 1.13's
// semantics (torch.optim.lr_scheduler._LRScheduler):
// - construction is a first step: last_epoch goes from -1 to 0 and the groups get their
//   epoch-0 lr (so a scheduler built on an optimizer already changes its lr);
// - a fresh scheduler (last_epoch = -1) records each group's lr as "initial_lr" in the
//   group's options unless present; a resumed one (last_epoch >= 0) requires it;
// - step() moves one epoch with the chainable form (new lr from the group's current lr, so
//   schedulers can be combined); step(epoch) jumps to an epoch with the closed form where
//   there is one (PyTorch's deprecated step(epoch); SequentialLR uses it);
// - state_dict() holds every attribute PyTorch's does, in its order.
// The optimizer must outlive the scheduler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/optim/optimizer.h"
#include "fulgur/tensor/value.h"

namespace fulgur::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // One epoch on (call after optimizer.step()).
  virtual void step();
  // Jumps to `epoch` (an integer, except for CosineAnnealingWarmRestarts).
  virtual void step(double epoch);

  // The lr of each group after the last step.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  // Each group's "initial_lr".
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  Optimizer& optimizer() const { return *optimizer_; }
  const std::string& name() const { return name_; }

  // Every attribute PyTorch's state_dict() holds, in its order (the optimizer excluded).
  virtual Value state_dict() const;
  // Sets the attributes a state_dict() holds (PyTorch's __dict__.update: keys that are
  // absent keep their values); throws on a value of the wrong type.
  virtual void load_state_dict(const Value& state_dict);

 protected:
  LRScheduler(Optimizer& optimizer, int64_t last_epoch, std::string name);
  // For SequentialLR, which manages other schedulers and sets nothing up itself.
  struct Bare {};
  LRScheduler(Optimizer& optimizer, Bare, std::string name);

  // PyTorch's _initial_step: the last statement of a derived constructor (it calls get_lr,
  // which a base constructor cannot).
  void initial_step();
  // The chainable form: each group's lr at last_epoch().
  virtual std::vector<double> get_lr() = 0;
  // The closed form at last_epoch(), if the schedule has one.
  virtual std::optional<std::vector<double>> closed_form_lr() const { return std::nullopt; }
  // Writes lrs into the groups (as many as both have) and records every group's lr.
  void apply_lrs(const std::vector<double>& lrs);
  double group_lr(size_t group) const { return optimizer_->get_lr(group); }
  size_t num_groups() const { return optimizer_->param_groups().size(); }

  // The base attributes in PyTorch's order, appended to `out` (derived classes put theirs
  // first, as their constructors set them before the base's).
  void append_base_state(Value& out) const;
  void load_base_state(const Value& state_dict);

  // For SequentialLR, which drives other schedulers.
  static void shift_last_epoch(LRScheduler& s, int64_t delta) { s.last_epoch_ += delta; }
  static void run_initial_step(LRScheduler& s) { s.initial_step(); }

  Optimizer* optimizer_;
  std::string name_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  std::vector<double> last_lr_;
};

namespace detail {
// Reads for load_state_dict: set *out from sd[key] if present, else leave it; throw on a
// value of the wrong type.
void load_int(const Value& sd, const char* key, int64_t* out, const std::string& op);
void load_double(const Value& sd, const char* key, double* out, const std::string& op);
void load_bool(const Value& sd, const char* key, bool* out, const std::string& op);
void load_doubles(const Value& sd, const char* key, std::vector<double>* out, const std::string& op);
Value doubles_value(const std::vector<double>& v);
// Python's a % b and a // b for b > 0.
inline int64_t py_mod(int64_t a, int64_t b) { return ((a % b) + b) % b; }
inline int64_t py_floordiv(int64_t a, int64_t b) { return (a - py_mod(a, b)) / b; }
// A scalar option given once for all groups or once per group (PyTorch's _format_param).
std::vector<double> per_group(const std::vector<double>& values, size_t groups, const char* what,
                              const std::string& op);
}  // namespace detail

}  // namespace fulgur::optim
