// metrics::FBetaScore and metrics::F1Score (torchmetrics.FBetaScore / F1Score and their
// Binary/Multiclass/Multilabel classes).
//
//   metrics::F1Score({.task = "multiclass", .num_classes = 5, .average = "weighted"})
//   metrics::FBetaScore({.task = "binary", .beta = 2.0})
//
// (1 + beta^2) tp / ((1 + beta^2) tp + beta^2 fn + fp), zero_division where that is 0/0;
// averaged over classes as in accuracy.h (torchmetrics ignores top_k in the "macro" weights
// of this score, and so do we). Inputs: see stat_scores.h.
#pragma once

#include "fulgur/trainer/metrics/classification/stat_scores.h"

namespace fulgur::metrics {

using F1ScoreOptions = StatScoresOptions;

// StatScoresOptions with torchmetrics' `beta` after `task`.
struct FBetaScoreOptions {
  std::string task;
  double beta = 1.0;
  double threshold = 0.5;
  std::optional<int64_t> num_classes;
  std::optional<int64_t> num_labels;
  std::string average = "micro";
  std::string multidim_average = "global";
  int64_t top_k = 1;
  std::optional<int64_t> ignore_index;
  bool validate_args = true;
  double zero_division = 0;
};

class FBetaScore : public StatScores {
 public:
  explicit FBetaScore(FBetaScoreOptions options);
  double beta() const { return beta_; }
  std::optional<bool> higher_is_better() const override { return true; }

 protected:
  FBetaScore(StatScoresOptions options, double beta, std::string metric);
  Tensor compute_state() override;

 private:
  double beta_;
};

class F1Score : public FBetaScore {
 public:
  explicit F1Score(F1ScoreOptions options) : FBetaScore(std::move(options), 1.0, "F1Score") {}
};

}  // namespace fulgur::metrics
