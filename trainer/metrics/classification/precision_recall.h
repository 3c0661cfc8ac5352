// metrics::Precision and metrics::Recall (torchmetrics.Precision / Recall and their
// Binary/Multiclass/Multilabel classes).
//
//   metrics::Precision({.task = "multiclass", .num_classes = 5, .average = "macro"})
//   metrics::Recall({.task = "binary", .threshold = 0.3})
//
// precision = tp / (tp + fp), recall = tp / (tp + fn), zero_division where the denominator
// is 0; averaged over classes as in accuracy.h. Inputs: see stat_scores.h.
#pragma once

#include "fulgur/trainer/metrics/classification/stat_scores.h"

namespace fulgur::metrics {

using PrecisionOptions = StatScoresOptions;
using RecallOptions = StatScoresOptions;

class Precision : public StatScores {
 public:
  explicit Precision(PrecisionOptions options) : StatScores(std::move(options), "Precision") {}
  std::optional<bool> higher_is_better() const override { return true; }

 protected:
  Tensor compute_state() override;
};

class Recall : public StatScores {
 public:
  explicit Recall(RecallOptions options) : StatScores(std::move(options), "Recall") {}
  std::optional<bool> higher_is_better() const override { return true; }

 protected:
  Tensor compute_state() override;
};

namespace detail {
// torchmetrics' _precision_recall_reduce; `other` is fp (precision) or fn (recall).
Tensor precision_recall_reduce(bool precision, const Tensor& tp, const Tensor& fp, const Tensor& fn,
                               const std::string& average, bool multilabel, int64_t top_k, double zero_division);
}  // namespace detail

}  // namespace fulgur::metrics
