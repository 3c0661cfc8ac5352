#include "fulgur/trainer/metrics/regression/mean_squared_error.h"

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"

namespace fulgur::metrics {

MeanSquaredError::MeanSquaredError(MeanSquaredErrorOptions options) : options_(options) {
  FULGUR_CHECK(options_.num_outputs > 0, "MeanSquaredError",
               "Expected num_outputs to be a positive integer but got ", options_.num_outputs);
  add_state("sum_squared_error", zeros({options_.num_outputs}), Reduction::Sum);
  add_state("total", zeros({}, {.dtype = DType::Int64}), Reduction::Sum);
}

void MeanSquaredError::update_state(const std::vector<Tensor>& inputs) {
  const std::string op = op_name("update");
  Tensor preds = inputs[0], target = inputs[1];
  detail::check_same_shape(op, preds, target);
  if (options_.num_outputs == 1) {
    preds = preds.reshape({-1});
    target = target.reshape({-1});
  } else {
    FULGUR_CHECK(preds.dim() == 2 && preds.size(1) == options_.num_outputs, op.c_str(), "expected preds and target of shape (N, ",
                 options_.num_outputs, ") for num_outputs=", options_.num_outputs, ", got ", shape_str(preds.sizes()),
                 ".");
  }
  const Tensor diff = preds - target;
  state("sum_squared_error").add_((diff * diff).sum({0}));
  state("total").add_(target.size(0));
}

Tensor MeanSquaredError::compute_state() {
  const Tensor mse = state("sum_squared_error") / state("total");
  return options_.squared ? mse : mse.sqrt();
}

}  // namespace fulgur::metrics
