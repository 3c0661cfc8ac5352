#include "fulgur/trainer/metrics/classification/precision_recall.h"

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"

namespace fulgur::metrics {
namespace detail {

Tensor precision_recall_reduce(bool precision, const Tensor& tp, const Tensor& fp, const Tensor& fn,
                               const std::string& average, bool multilabel, int64_t top_k, double zero_division) {
  const Tensor& other = precision ? fp : fn;
  if (average == "binary") return safe_divide(tp, tp + other, zero_division);
  if (average == "micro") {
    const Tensor tps = tp.sum({0});
    return safe_divide(tps, tps + other.sum({0}), zero_division);
  }
  const Tensor score = safe_divide(tp, tp + other, zero_division);
  return adjust_weights_safe_divide(score, average, multilabel, tp, fp, fn, top_k);
}

}  // namespace detail

Tensor Precision::compute_state() {
  return detail::precision_recall_reduce(true, tp(), fp(), fn(), average(), multilabel(),
                                         multilabel() ? 1 : options().top_k, options().zero_division);
}

Tensor Recall::compute_state() {
  return detail::precision_recall_reduce(false, tp(), fp(), fn(), average(), multilabel(),
                                         multilabel() ? 1 : options().top_k, options().zero_division);
}

}  // namespace fulgur::metrics
