// metrics::ConfusionMatrix (torchmetrics.ConfusionMatrix and its Binary/Multiclass/Multilabel
// classes).
//
//   metrics::ConfusionMatrix({.task = "multiclass", .num_classes = 3, .normalize = "true"})
//
// Rows are targets, columns predictions: binary [2, 2], multiclass [C, C], multilabel
// [L, 2, 2] (one 2x2 matrix per label). int64 counts, or float32 with normalize: "true"
// (rows sum to 1), "pred" (columns), "all"; NaNs of empty rows/columns become 0 with a
// warning. Inputs as stat_scores.h, except that binary preds that are logits are detected
// after ignored positions are dropped (as torchmetrics does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::metrics {

struct ConfusionMatrixOptions {
  std::string task;  // "binary", "multiclass" or "multilabel"
  double threshold = 0.5;
  std::optional<int64_t> num_classes;
  std::optional<int64_t> num_labels;
  std::string normalize = "none";  // "none", "true", "pred" or "all"
  std::optional<int64_t> ignore_index;
  bool validate_args = true;
};

class ConfusionMatrix : public Metric {
 public:
  explicit ConfusionMatrix(ConfusionMatrixOptions options);
  const ConfusionMatrixOptions& options() const { return options_; }
  std::string name() const override;

 protected:
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;

 private:
  ConfusionMatrixOptions options_;
  std::string prefix_;
};

}  // namespace fulgur::metrics
