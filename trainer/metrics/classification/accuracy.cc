#include "fulgur/trainer/metrics/classification/accuracy.h"

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"

namespace fulgur::metrics {

// torchmetrics' _accuracy_reduce (global).
Tensor Accuracy::compute_state() {
  using detail::safe_divide;
  Tensor tp = this->tp(), fp = this->fp(), tn = this->tn(), fn = this->fn();
  const std::string avg = average();
  if (avg == "binary") return safe_divide(tp + tn, tp + tn + fp + fn);
  if (avg == "micro") {
    tp = tp.sum({0});
    fn = fn.sum({0});
    if (multilabel()) {
      fp = fp.sum({0});
      tn = tn.sum({0});
      return safe_divide(tp + tn, tp + tn + fp + fn);
    }
    return safe_divide(tp, tp + fn);
  }
  const Tensor score = multilabel() ? safe_divide(tp + tn, tp + tn + fp + fn) : safe_divide(tp, tp + fn);
  return detail::adjust_weights_safe_divide(score, avg, multilabel(), tp, fp, fn, options().top_k);
}

}  // namespace fulgur::metrics
