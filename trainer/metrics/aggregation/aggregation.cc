#include "fulgur/trainer/metrics/aggregation/aggregation.h"

#include <limits>

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/warnings.h"

namespace fulgur::metrics {

Aggregator::Aggregator(AggregationOptions options) : options_(std::move(options)) {
  if (const auto* s = std::get_if<std::string>(&options_.nan_strategy))
    FULGUR_CHECK(*s == "error" || *s == "warn" || *s == "ignore", "Aggregator",
                 "Arg `nan_strategy` should either be a float or one of ('error', 'warn', 'ignore') but got '", *s,
                 "'.");
}

std::pair<Tensor, Tensor> Aggregator::cast_and_nan_check(Tensor value, Tensor weight) const {
  Tensor bad = isnan(value);
  if (weight.defined()) {
    bad = bad.logical_or(isnan(weight));
  } else {
    weight = ones_like(value);
  }
  if (bad.numel() > 0 && bad.any().item<bool>()) {
    if (const auto* s = std::get_if<std::string>(&options_.nan_strategy)) {
      FULGUR_CHECK(*s != "error", op_name("update").c_str(), "Encountered `nan` values in tensor",
                   " (nan_strategy='error'). Hint: nan_strategy 'warn', 'ignore' or a replacement value.");
      if (*s == "warn") warn("Encountered `nan` values in tensor. Will be removed.");
      const Tensor keep = bad.logical_not();
      value = value.masked_select(keep);
      weight = weight.masked_select(keep);
    } else {
      const double fill = std::get<double>(options_.nan_strategy);
      value = value.masked_fill(bad, fill);
      weight = weight.masked_fill(bad, fill);
    }
  }
  return {value.to(DType::Float32), weight.to(DType::Float32)};
}

// ---- MeanMetric -------------------------------------------------------------------------------

MeanMetric::MeanMetric(MeanMetricOptions options) : Aggregator(std::move(options)) {
  add_state("mean_value", zeros({}), Reduction::Sum);
  add_state("weight", zeros({}), Reduction::Sum);
}

void MeanMetric::update_state(const std::vector<Tensor>& inputs) {
  const Tensor& value = inputs[0];
  Tensor weight = inputs.size() > 1 ? inputs[1] : ones_like(value, DType::Float32);
  weight = weight.expand(value.sizes());  // torch.broadcast_to(weight, value.shape)
  auto [v, w] = cast_and_nan_check(value, weight);
  if (v.numel() == 0) return;
  state("mean_value").add_((v * w).sum());
  state("weight").add_(w.sum());
}

Tensor MeanMetric::compute_state() { return state("mean_value") / state("weight"); }

// ---- SumMetric --------------------------------------------------------------------------------

SumMetric::SumMetric(SumMetricOptions options) : Aggregator(std::move(options)) {
  add_state("sum_value", zeros({}), Reduction::Sum);
}

void SumMetric::update_state(const std::vector<Tensor>& inputs) {
  const Tensor v = cast_and_nan_check(inputs[0]).first;
  if (v.numel() > 0) state("sum_value").add_(v.sum());
}

Tensor SumMetric::compute_state() { return state("sum_value").clone(); }

// ---- MaxMetric / MinMetric --------------------------------------------------------------------

MaxMetric::MaxMetric(MaxMetricOptions options) : Aggregator(std::move(options)) {
  add_state("max_value", full({}, -std::numeric_limits<double>::infinity(), {.dtype = DType::Float32}),
            Reduction::Max);
}

void MaxMetric::update_state(const std::vector<Tensor>& inputs) {
  const Tensor v = cast_and_nan_check(inputs[0]).first;
  if (v.numel() > 0) state("max_value") = maximum(state("max_value"), v.max());
}

Tensor MaxMetric::compute_state() { return state("max_value").clone(); }

MinMetric::MinMetric(MinMetricOptions options) : Aggregator(std::move(options)) {
  add_state("min_value", full({}, std::numeric_limits<double>::infinity(), {.dtype = DType::Float32}),
            Reduction::Min);
}

void MinMetric::update_state(const std::vector<Tensor>& inputs) {
  const Tensor v = cast_and_nan_check(inputs[0]).first;
  if (v.numel() > 0) state("min_value") = minimum(state("min_value"), v.min());
}

Tensor MinMetric::compute_state() { return state("min_value").clone(); }

}  // namespace fulgur::metrics
