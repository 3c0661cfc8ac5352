// metrics::Accuracy (torchmetrics.Accuracy and its Binary/Multiclass/Multilabel classes).
//
//   metrics::Accuracy({.task = "multiclass", .num_classes = 10})            // micro: correct / total
//   metrics::Accuracy({.task = "multiclass", .num_classes = 10, .top_k = 3})
//   metrics::Accuracy({.task = "multilabel", .num_labels = 4, .average = "macro"})
//
// binary: (tp + tn) / all. multiclass: tp / (tp + fn) per class (recall), "micro" pooled over
// classes, "macro" the mean over classes that occur (as target or prediction), "weighted" by
// support, "none" per class. multilabel: (tp + tn) / all per label, averaged likewise.
// Inputs: see stat_scores.h. Result float32, 0-dim unless average = "none".
#pragma once

#include "fulgur/trainer/metrics/classification/stat_scores.h"

namespace fulgur::metrics {

using AccuracyOptions = StatScoresOptions;

class Accuracy : public StatScores {
 public:
  explicit Accuracy(AccuracyOptions options) : StatScores(std::move(options), "Accuracy") {}
  std::optional<bool> higher_is_better() const override { return true; }

 protected:
  Tensor compute_state() override;
};

}  // namespace fulgur::metrics
