// metrics::MeanAbsoluteError (torchmetrics.MeanAbsoluteError): the mean of |preds - target|
// over every element; preds and target have the same shape. Sum kept in float32.
#pragma once

#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::metrics {

class MeanAbsoluteError : public Metric {
 public:
  MeanAbsoluteError();
  std::string name() const override { return "MeanAbsoluteError"; }
  bool is_differentiable() const override { return true; }
  std::optional<bool> higher_is_better() const override { return false; }

 protected:
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;
};

}  // namespace fulgur::metrics
