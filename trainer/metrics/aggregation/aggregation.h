// The aggregators (torchmetrics.aggregation): MeanMetric, SumMetric, MaxMetric, MinMetric.
// They reduce every value they are given; update accepts a tensor of any shape or a number.
//
//   metrics::MeanMetric mean;               mean.update(loss, batch_size);  // weighted mean
//   metrics::MaxMetric best({.nan_strategy = "ignore"});
//
// Values are cast to float32 (torchmetrics' default dtype) before they are reduced.
// nan_strategy (a NaN in the value, or in MeanMetric's weight):
//   "error"  throws fulgur::Error("Encountered `nan` values in tensor")
//   "warn"   (default) warns and drops those elements; "ignore" drops them silently
//   a number replaces them (value and weight both, as torchmetrics does).
// Results before any update: MeanMetric nan (0/0), SumMetric 0, MaxMetric -inf, MinMetric inf.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/metric.h"

namespace fulgur::metrics {

struct AggregationOptions {
  std::variant<std::string, double> nan_strategy = std::string("warn");
};
using MeanMetricOptions = AggregationOptions;
using SumMetricOptions = AggregationOptions;
using MaxMetricOptions = AggregationOptions;
using MinMetricOptions = AggregationOptions;

// torchmetrics' BaseAggregator: the option and the NaN handling.
class Aggregator : public Metric {
 public:
  using Metric::update;
  void update(double value) { Metric::update(scalar_tensor(value)); }

 protected:
  explicit Aggregator(AggregationOptions options);
  std::pair<size_t, size_t> num_inputs() const override { return {1, 1}; }
  // value (and weight, when defined; else ones) as float32 after nan_strategy.
  std::pair<Tensor, Tensor> cast_and_nan_check(Tensor value, Tensor weight = Tensor()) const;

 private:
  AggregationOptions options_;
};

class MeanMetric : public Aggregator {
 public:
  explicit MeanMetric(MeanMetricOptions options = {});
  using Aggregator::update;
  // weight broadcasts to value's shape.
  void update(double value, double weight) { Metric::update(scalar_tensor(value), scalar_tensor(weight)); }
  void update(const Tensor& value, double weight) { Metric::update(value, scalar_tensor(weight)); }
  std::string name() const override { return "MeanMetric"; }

 protected:
  std::pair<size_t, size_t> num_inputs() const override { return {1, 2}; }
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;
};

class SumMetric : public Aggregator {
 public:
  explicit SumMetric(SumMetricOptions options = {});
  std::string name() const override { return "SumMetric"; }

 protected:
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;
};

class MaxMetric : public Aggregator {
 public:
  explicit MaxMetric(MaxMetricOptions options = {});
  std::string name() const override { return "MaxMetric"; }

 protected:
  bool full_state_update() const override { return true; }
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;
};

class MinMetric : public Aggregator {
 public:
  explicit MinMetric(MinMetricOptions options = {});
  std::string name() const override { return "MinMetric"; }

 protected:
  bool full_state_update() const override { return true; }
  void update_state(const std::vector<Tensor>& inputs) override;
  Tensor compute_state() override;
};

}  // namespace fulgur::metrics
