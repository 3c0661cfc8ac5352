// metrics::MeanSquaredError (torchmetrics.MeanSquaredError).
//
//   metrics::MeanSquaredError()                      // mean of (preds - target)^2
//   metrics::MeanSquaredError({.squared = false})    // its square root (RMSE)
//   metrics::MeanSquaredError({.num_outputs = 3})    // preds/target (N, 3): one value per output
//
// preds and target have the same shape; with num_outputs = 1 every element counts, else the
// inputs are (N, num_outputs). Sums are kept in float32 (torchmetrics' state dtype).
#pragma once

#include <cstdint>

#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::metrics {

struct MeanSquaredErrorOptions {
  bool squared = true;
  int64_t num_outputs = 1;
};

class MeanSquaredError : public Metric {
 public:
  explicit MeanSquaredError(MeanSquaredErrorOptions options = {});
  std::string name() const override { return "MeanSquaredError"; }
  bool is_differentiable() const override { return true; }
  std::optional<bool> higher_is_better() const override { return false; }

 protected:
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;

 private:
  MeanSquaredErrorOptions options_;
};

}  // namespace fulgur::metrics
