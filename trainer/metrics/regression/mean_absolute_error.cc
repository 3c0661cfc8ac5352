#include "fulgur/trainer/metrics/regression/mean_absolute_error.h"

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"

namespace fulgur::metrics {

MeanAbsoluteError::MeanAbsoluteError() {
  add_state("sum_abs_error", zeros({}), Reduction::Sum);
  add_state("total", zeros({}, {.dtype = DType::Int64}), Reduction::Sum);
}

void MeanAbsoluteError::update_state(const std::vector<Tensor>& inputs) {
  detail::check_same_shape(op_name("update"), inputs[0], inputs[1]);
  state("sum_abs_error").add_((inputs[0] - inputs[1]).abs().sum());
  state("total").add_(inputs[1].numel());
}

Tensor MeanAbsoluteError::compute_state() { return state("sum_abs_error") / state("total"); }

}  // namespace fulgur::metrics
