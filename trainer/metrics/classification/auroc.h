// metrics::AUROC, binary task (torchmetrics.AUROC(task="binary") / BinaryAUROC), exact
// (thresholds=None): the area under the ROC curve of every distinct score.
//
//   metrics::AUROC({.task = "binary"})
//   auroc->update(scores, labels);   // scores: floating (N, ...) probabilities or logits
//                                    // (sigmoid when any value is outside [0, 1], per call);
//                                    // labels: integer 0/1 (or ignore_index), same shape
//
// Scores and labels are kept (list states, synced by concatenation) and the curve is built at
// compute(): ties share one ROC point (a diagonal step), as sklearn and torchmetrics do. With
// no positive (or no negative) targets the TPR (FPR) is taken as 0 and a warning is issued.
// max_fpr gives the McClish-standardised partial AUC. Result: 0-dim float32 (as torchmetrics).
// compute() runs on the host (it is one sort and one cumulative pass over the data).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::metrics {

struct AUROCOptions {
  std::string task;                    // "binary" (multiclass / multilabel: not implemented yet)
  std::optional<int64_t> thresholds;   // only std::nullopt (exact) is implemented
  std::optional<int64_t> num_classes;
  std::optional<int64_t> num_labels;
  std::string average = "macro";
  std::optional<double> max_fpr;
  std::optional<int64_t> ignore_index;
  bool validate_args = true;
};

class AUROC : public Metric {
 public:
  explicit AUROC(AUROCOptions options);
  const AUROCOptions& options() const { return options_; }
  std::string name() const override { return "BinaryAUROC"; }
  std::optional<bool> higher_is_better() const override { return true; }

 protected:
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;

 private:
  AUROCOptions options_;
};

}  // namespace fulgur::metrics
