#include "fulgur/trainer/metrics/regression/r2_score.h"

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"
#include "fulgur/trainer/metrics/warnings.h"

namespace fulgur::metrics {

R2Score::R2Score(R2ScoreOptions options) : options_(std::move(options)) {
  FULGUR_CHECK(options_.num_outputs > 0, "R2Score", "Expected num_outputs to be a positive integer but got ",
               options_.num_outputs);
  FULGUR_CHECK(options_.adjusted >= 0, "R2Score", "`adjusted` parameter should be an integer larger or equal to 0.");
  const auto& m = options_.multioutput;
  FULGUR_CHECK(m == "raw_values" || m == "uniform_average" || m == "variance_weighted", "R2Score",
               "Invalid input to argument `multioutput`. Choose one of the following: ('raw_values', "
               "'uniform_average', 'variance_weighted'), got '",
               m, "'");
  const Tensor z = zeros({options_.num_outputs});
  add_state("sum_squared_error", z, Reduction::Sum);
  add_state("sum_error", z, Reduction::Sum);
  add_state("residual", z, Reduction::Sum);
  add_state("total", zeros({}, {.dtype = DType::Int64}), Reduction::Sum);
}

void R2Score::update_state(const std::vector<Tensor>& inputs) {
  const std::string op = op_name("update");
  const Tensor& preds = inputs[0];
  const Tensor& target = inputs[1];
  detail::check_same_shape(op, preds, target);
  FULGUR_CHECK(preds.dim() == 1 || preds.dim() == 2, op.c_str(),
               "Expected both prediction and target to be 1D or 2D tensors, but received tensors with dimension ",
               shape_str(preds.sizes()));
  const int64_t outputs = preds.dim() == 2 ? preds.size(1) : 1;
  FULGUR_CHECK(outputs == options_.num_outputs, op.c_str(), "got ", outputs, " output", outputs == 1 ? "" : "s",
               " (preds ", shape_str(preds.sizes()), ") but num_outputs=", options_.num_outputs,
               ". Hint: R2Score({.num_outputs = ", outputs, "}).");
  const Tensor residual = target - preds;
  state("sum_squared_error").add_((target * target).sum({0}));
  state("sum_error").add_(target.sum({0}));
  state("residual").add_((residual * residual).sum({0}));
  state("total").add_(target.size(0));
}

Tensor R2Score::compute_state() {
  const int64_t n = state("total").item<int64_t>();
  FULGUR_CHECK(n >= 2, op_name("compute").c_str(), "Needs at least two samples to calculate r2 score (got ", n,
               ").");
  const Tensor& sum_obs = state("sum_error");
  const Tensor& rss = state("residual");
  const Tensor mean_obs = sum_obs / static_cast<double>(n);
  const Tensor tss = state("sum_squared_error") - sum_obs * mean_obs;
  const Tensor cond_rss = isclose(rss, zeros_like(rss), 1e-5, 1e-4).logical_not();
  const Tensor cond_tss = isclose(tss, zeros_like(tss), 1e-5, 1e-4).logical_not();
  Tensor raw = where(cond_rss.logical_and(cond_tss), 1 - rss / tss, Scalar(1.0));
  raw = raw.masked_fill(cond_rss.logical_and(cond_tss.logical_not()), 0.0);
  Tensor r2;
  if (options_.multioutput == "raw_values") {
    r2 = raw;
  } else if (options_.multioutput == "uniform_average") {
    r2 = raw.mean();
  } else {
    r2 = (tss / tss.sum() * raw).sum();
  }
  const int64_t adj = options_.adjusted;
  if (adj != 0) {
    if (adj > n - 1) {
      warn("More independent regressions than data points in adjusted r2 score. Falls back to standard r2 score.");
    } else if (adj == n - 1) {
      warn("Division by zero in adjusted r2 score. Falls back to standard r2 score.");
    } else {
      return 1 - (1 - r2) * static_cast<double>(n - 1) / static_cast<double>(n - adj - 1);
    }
  }
  return r2;
}

}  // namespace fulgur::metrics
