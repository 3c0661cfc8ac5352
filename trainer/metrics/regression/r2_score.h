// metrics::R2Score (torchmetrics.R2Score): the coefficient of determination
// 1 - SS_res / SS_tot, from running sums (so it can be accumulated and synced).
//
//   metrics::R2Score()                                     // preds, target: (N,)
//   metrics::R2Score({.num_outputs = 2, .multioutput = "raw_values"})   // (N, 2): per output
//   metrics::R2Score({.adjusted = 3})                      // adjusted for 3 regressors
//
// As torchmetrics: an output whose SS_res is ~0 (|x| <= 1e-4) scores 1, one whose SS_tot is
// ~0 (but SS_res not) scores 0. compute() with fewer than two samples throws.
// multioutput: "uniform_average" (default), "variance_weighted" or "raw_values".
#pragma once

#include <cstdint>
#include <string>

#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::metrics {

struct R2ScoreOptions {
  int64_t num_outputs = 1;
  int64_t adjusted = 0;
  std::string multioutput = "uniform_average";
};

class R2Score : public Metric {
 public:
  explicit R2Score(R2ScoreOptions options = {});
  std::string name() const override { return "R2Score"; }
  bool is_differentiable() const override { return true; }
  std::optional<bool> higher_is_better() const override { return true; }

 protected:
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;

 private:
  R2ScoreOptions options_;
};

}  // namespace fulgur::metrics
