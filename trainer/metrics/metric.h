// metrics::Metric: the base of every metric (torchmetrics.Metric), an nn::Module whose
// states accumulate over batches.
//
//   auto acc = std::make_shared<metrics::Accuracy>(metrics::AccuracyOptions{
//       .task = "multiclass", .num_classes = 10});
//   Tensor batch_acc = (*acc)(logits, y);   // forward: accumulates, returns this batch's value
//   acc->update(logits2, y2);               // accumulates only
//   Tensor epoch_acc = acc->compute();      // over everything since the last reset()
//   acc->reset();
//
// Semantics follow torchmetrics 1.x:
// - States are added by name with a default and a cross-process reduction (add_state). Tensor
//   states are buffers of the module, NOT in state_dict() unless made persistent (torchmetrics'
//   default persistent=False); list states ("cat", e.g. AUROC's scores) are kept beside the
//   buffers and are never in state_dict().
// - forward() computes the batch value from a fresh state and then merges the batch state
//   into the accumulated one with each state's reduction (one update() call); metrics whose
//   update needs the full state (full_state_update()) run update twice instead.
// - compute() before any update() warns ("The ``compute`` method of metric ... was called
//   before the ``update`` method ...") and returns what the default states give (0 for
//   Accuracy, nan for MeanMetric, -inf for MaxMetric; some metrics throw). A second compute()
//   without an update in between returns the cached tensor. One-element results are 0-dim.
// - With a Reducer set (set_reducer), compute() syncs the states across processes, computes,
//   and restores the local states so accumulation continues (sync_on_compute). sync()/unsync()
//   do the same by hand.
// - update() runs under no_grad; the batch computation of forward() runs with grad enabled,
//   so a differentiable metric (MeanSquaredError) can be backpropagated through.
// Where we differ from torchmetrics: README.md in this folder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/nn/module.h"
#include "fulgur/tensor/tensor.h"
#include "fulgur/trainer/metrics/reducer.h"

namespace fulgur::metrics {

// How a state combines across processes (torchmetrics' dist_reduce_fx), and how forward()
// merges a batch state into the accumulated one. Mean averages over processes (and, in
// forward, over update calls, as torchmetrics does).
enum class Reduction { Sum, Mean, Max, Min, Cat };

// "sum", "mean", "max", "min", "cat" (torchmetrics' names); throws fulgur::Error otherwise.
Reduction reduction_from_string(const std::string& name);
const char* reduction_name(Reduction r);

class Metric : public nn::Module {
 public:
  ~Metric() override = default;
  Metric(Metric&&) = default;
  Metric& operator=(Metric&&) = default;

  // ---- accumulation ---------------------------------------------------------------------
  // The arguments are the metric's: (preds, target) for classification and regression,
  // (value) or (value, weight) for the aggregators. A wrong count throws fulgur::Error.
  void update(const Tensor& a);
  void update(const Tensor& a, const Tensor& b);
  // Accumulates the batch like update() and returns the metric of this batch alone.
  // Throws while the metric is synced. If the update throws, the accumulated state is left
  // as it was (torchmetrics would have reset it).
  Tensor forward(const Tensor& a) override;
  Tensor forward(const Tensor& a, const Tensor& b);
  Tensor operator()(const Tensor& a) { return forward(a); }
  Tensor operator()(const Tensor& a, const Tensor& b) { return forward(a, b); }

  // The metric over every batch since construction or the last reset(). Cached until the
  // next update/forward/reset/sync/unsync. Result: a new tensor (never a view of a state).
  Tensor compute();
  // States back to their defaults (on the states' current device); update count, caches and
  // sync status cleared.
  void reset();

  // ---- processes --------------------------------------------------------------------------
  // Replaces every state by its reduction over all processes (collectives in state order).
  // The local states are kept aside until unsync(). Throws if already synced.
  void sync(const Reducer& reducer);
  // Restores the local states saved by sync(). Throws if not synced.
  void unsync();
  bool is_synced() const { return is_synced_; }
  // The reducer compute() syncs through (torchmetrics' sync_on_compute); null: local only.
  void set_reducer(std::shared_ptr<const Reducer> reducer) {
    reducer_ = std::move(reducer);
    computed_ = Tensor();  // a cached local value is not the synced one
  }
  const std::shared_ptr<const Reducer>& reducer() const { return reducer_; }
  // torchmetrics' sync_on_compute (default true) and compute_with_cache (default true).
  void set_sync_on_compute(bool on) { sync_on_compute_ = on; }
  void set_compute_with_cache(bool on) {
    compute_with_cache_ = on;
    computed_ = Tensor();
  }

  // ---- introspection ----------------------------------------------------------------------
  // update()/forward() calls since construction or the last reset().
  int64_t update_count() const { return update_count_; }
  bool update_called() const { return update_count_ > 0; }
  // The value the last forward() returned (undefined after reset() or before any forward);
  // Lightning logs it for on_step.
  const Tensor& forward_cache() const { return forward_cache_; }
  // Every state by name, in the order added; list states concatenated along dim 0 (an
  // undefined tensor when empty).
  std::vector<std::pair<std::string, Tensor>> metric_state() const;
  // Whether tensor states go into state_dict() (torchmetrics' Metric.persistent(mode)).
  void persistent(bool mode);
  // torchmetrics' class attributes.
  virtual bool is_differentiable() const { return false; }
  virtual std::optional<bool> higher_is_better() const { return std::nullopt; }

 protected:
  Metric() = default;

  // Adds a tensor state, registered as a buffer `name` holding a copy of default_value.
  // Returns the buffer (valid for the module's lifetime).
  Tensor& add_state(const std::string& name, const Tensor& default_value, Reduction reduction,
                    bool persistent = false);
  // Adds a list state (torchmetrics' `add_state(name, [], "cat")`): update appends tensors,
  // compute concatenates them along dim 0.
  std::vector<Tensor>& add_list_state(const std::string& name, Reduction reduction = Reduction::Cat);
  Tensor& state(const std::string& name) { return buffer(name); }
  std::vector<Tensor>& list_state(const std::string& name);
  // The concatenation of a list state; throws torchmetrics' "No samples to concatenate"
  // when it is empty.
  Tensor cat_state(const std::string& name, const char* op);

  // The metric's own update, on the arguments given to update()/forward(); runs with the
  // bookkeeping done.
  virtual void update_state(const std::vector<Tensor>& inputs) = 0;
  // The metric's own compute from the current states.
  virtual Tensor compute_state() = 0;
  // Accepted argument counts of update (inclusive); (preds, target) by default.
  virtual std::pair<size_t, size_t> num_inputs() const { return {2, 2}; }
  // torchmetrics' full_state_update: forward runs update on the global state and again on a
  // fresh one, instead of merging the batch state with the state reductions.
  virtual bool full_state_update() const { return false; }

  // "MulticlassAccuracy.update" (name() + "." + method), for error messages.
  std::string op_name(const char* method) const;

 private:
  struct StateSpec {
    std::string name;
    Tensor default_value;  // undefined for list states
    Reduction reduction;
    bool is_list;
    std::vector<Tensor> list;
  };
  struct SavedState {  // one per StateSpec
    Tensor tensor;
    std::vector<Tensor> list;
  };

  void run_update(const std::vector<Tensor>& inputs);
  Tensor run_forward(const std::vector<Tensor>& inputs);
  Tensor forward_reduce_state_update(const std::vector<Tensor>& inputs);
  Tensor forward_full_state_update(const std::vector<Tensor>& inputs);
  void end_forward();
  void check_num_inputs(const std::vector<Tensor>& inputs, const char* method) const;
  std::vector<SavedState> copy_state() const;
  void restore_state(std::vector<SavedState> saved);
  void reduce_states(const std::vector<SavedState>& global);
  StateSpec& spec(const std::string& name, const char* op);

  std::vector<StateSpec> states_;
  std::shared_ptr<const Reducer> reducer_;
  std::optional<std::vector<SavedState>> sync_cache_;
  Tensor computed_;
  Tensor forward_cache_;
  int64_t update_count_ = 0;
  bool is_synced_ = false;
  bool to_sync_ = true;        // whether compute() syncs (false during forward's batch compute)
  bool should_unsync_ = true;  // whether compute() restores local states after syncing
  bool enable_grad_ = false;   // true during forward's batch update
  bool sync_on_compute_ = true;
  bool compute_with_cache_ = true;
};

}  // namespace fulgur::metrics
