// metrics::StatScores: true/false positives/negatives per class, the state behind Accuracy,
// Precision, Recall and F1Score (torchmetrics' StatScores and its Binary/Multiclass/
// Multilabel variants, chosen by `task` as torchmetrics' task wrappers do).
//
// Inputs (update(preds, target)):
// - binary: preds and target of the same shape (N, ...). Floating preds are probabilities,
//   or logits when any value lies outside [0, 1] (then sigmoid); `preds > threshold` is the
//   predicted label. Integer preds are labels 0/1. target: 0/1 (or ignore_index).
// - multiclass: preds (N, C, ...) floating scores (argmax, or the top_k largest) with target
//   (N, ...), or preds (N, ...) integer labels with target of the same shape. target: class
//   indices in [0, num_classes) (or ignore_index). No softmax is needed: argmax and top-k do
//   not change under it.
// - multilabel: preds and target (N, num_labels, ...); preds as in binary, per label.
// Positions whose target equals ignore_index count nowhere.
//
// compute() of StatScores itself gives [tp, fp, tn, fn, support] (support = tp + fn),
// reduced by `average` as torchmetrics does; the subclasses override it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::metrics {

// torchmetrics' arguments, in its order (designated initializers must follow it):
//   metrics::Accuracy({.task = "multiclass", .num_classes = 10, .average = "macro"})
struct StatScoresOptions {
  std::string task;                    // "binary", "multiclass" or "multilabel"
  double threshold = 0.5;              // binary / multilabel
  std::optional<int64_t> num_classes;  // multiclass: required, >= 2
  std::optional<int64_t> num_labels;   // multilabel: required, >= 2
  std::string average = "micro";       // "micro", "macro", "weighted" or "none" (the task wrappers' default)
  std::string multidim_average = "global";  // only "global" is implemented
  int64_t top_k = 1;                   // multiclass
  std::optional<int64_t> ignore_index;
  bool validate_args = true;           // value checks of every batch (shapes are always checked)
  double zero_division = 0;            // Precision / Recall / F1Score: the value of 0/0 (0 or 1)
};

class StatScores : public Metric {
 public:
  enum class Task { Binary, Multiclass, Multilabel };

  explicit StatScores(StatScoresOptions options);

  const StatScoresOptions& options() const { return options_; }
  Task task() const { return task_; }
  // "MulticlassStatScores", "BinaryAccuracy", ...: torchmetrics' class for the task.
  std::string name() const override;

 protected:
  // `metric` names the subclass ("Accuracy") for name() and messages.
  StatScores(StatScoresOptions options, std::string metric);

  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;

  // The accumulated counts (int64; shape [1] for binary and multiclass micro with top_k 1,
  // else [num_classes] / [num_labels]).
  Tensor tp() { return state("tp"); }
  Tensor fp() { return state("fp"); }
  Tensor tn() { return state("tn"); }
  Tensor fn() { return state("fn"); }
  // What the reductions call the averaging: "binary" for the binary task, else `average`.
  std::string average() const { return task_ == Task::Binary ? "binary" : options_.average; }
  bool multilabel() const { return task_ == Task::Multilabel; }

 private:
  void update_binary(const Tensor& preds, const Tensor& target);
  void update_multiclass(const Tensor& preds, const Tensor& target);
  void update_multilabel(const Tensor& preds, const Tensor& target);
  void add_counts(const Tensor& tp, const Tensor& fp, const Tensor& tn, const Tensor& fn);

  StatScoresOptions options_;
  std::string metric_;
  Task task_ = Task::Binary;
};

namespace detail {

// torchmetrics' _adjust_weights_safe_divide: averages per-class `score` over classes
// ("macro": classes that never occur, as target or prediction, get weight 0 unless
// multilabel; "weighted": support tp + fn; "none": unchanged).
Tensor adjust_weights_safe_divide(const Tensor& score, const std::string& average, bool multilabel,
                                  const Tensor& tp, const Tensor& fp, const Tensor& fn, int64_t top_k);

}  // namespace detail
}  // namespace fulgur::metrics
