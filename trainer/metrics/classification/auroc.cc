#include "fulgur/trainer/metrics/classification/auroc.h"

#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"
#include "fulgur/trainer/metrics/warnings.h"

namespace fulgur::metrics {

AUROC::AUROC(AUROCOptions options) : options_(std::move(options)) {
  const char* op = "AUROC";
  FULGUR_CHECK(options_.task == "binary", op, "task='", options_.task,
               "' is not implemented in Fulgur yet (only 'binary'). Hint: one-vs-rest binary AUROCs per class.");
  FULGUR_CHECK(!options_.thresholds.has_value(), op,
               "binned AUROC (thresholds=", *options_.thresholds,
               ") is not implemented in Fulgur yet. Hint: leave thresholds unset for the exact AUROC.");
  if (options_.max_fpr)
    FULGUR_CHECK(*options_.max_fpr > 0 && *options_.max_fpr <= 1, op,
                 "Arguments `max_fpr` should be a float in range (0, 1], but got: ", *options_.max_fpr);
  add_list_state("preds");
  add_list_state("target");
}

void AUROC::update_state(const std::vector<Tensor>& inputs) {
  const Tensor& preds = inputs[0];
  const Tensor& target = inputs[1];
  const std::string op = op_name("update");
  detail::check_same_shape(op, preds, target);
  FULGUR_CHECK(!target.is_floating_point(), op.c_str(),
               "Expected argument `target` to be an int or long tensor with ground truth labels but got tensor with "
               "dtype ",
               target.dtype(), ". Hint: target.to(kInt64).");
  FULGUR_CHECK(preds.is_floating_point(), op.c_str(),
               "Expected argument `preds` to be an floating tensor with probability/logit scores, but got tensor "
               "with dtype ",
               preds.dtype(), ".");
  if (options_.validate_args) detail::check_binary_target(op, target, options_.ignore_index);
  Tensor p = preds.reshape({-1});
  Tensor t = target.reshape({-1});
  if (options_.ignore_index) {
    const Tensor keep = t.ne(*options_.ignore_index);
    p = p.masked_select(keep);
    t = t.masked_select(keep);
  }
  list_state("preds").push_back(detail::sigmoid_if_logits(p).detach());
  list_state("target").push_back(t.detach());
}

Tensor AUROC::compute_state() {
  const Tensor preds_t = cat_state("preds", "compute");
  const std::vector<double> preds = preds_t.to_vector<double>();
  const std::vector<int64_t> target = cat_state("target", "compute").to_vector<int64_t>();
  const size_t n = preds.size();

  // ROC points at every distinct score, from the highest: cumulative tp/fp at the last index
  // of each run of equal scores (torchmetrics' _binary_clf_curve).
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return preds[a] > preds[b]; });
  std::vector<double> tps{0}, fps{0};
  double tp = 0, fp = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool pos = target[order[i]] == 1;
    tp += pos ? 1 : 0;
    fp += pos ? 0 : 1;
    if (i + 1 == n || preds[order[i + 1]] != preds[order[i]]) {
      tps.push_back(tp);
      fps.push_back(fp);
    }
  }
  std::vector<double> fpr(tps.size(), 0.0), tpr(tps.size(), 0.0);
  if (fps.back() <= 0) {
    warn("No negative samples in targets, false positive value should be meaningless. Returning zero tensor in "
         "false positive score");
  } else {
    for (size_t i = 0; i < fps.size(); ++i) fpr[i] = fps[i] / fps.back();
  }
  if (tps.back() <= 0) {
    warn("No positive samples in targets, true positive value should be meaningless. Returning zero tensor in "
         "true positive score");
  } else {
    for (size_t i = 0; i < tps.size(); ++i) tpr[i] = tps[i] / tps.back();
  }
  const auto trapz = [](const std::vector<double>& x, const std::vector<double>& y) {
    double area = 0;
    for (size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    return area;
  };
  double auc;
  const double fpr_sum = std::accumulate(fpr.begin(), fpr.end(), 0.0);
  const double tpr_sum = std::accumulate(tpr.begin(), tpr.end(), 0.0);
  const auto& max_fpr = options_.max_fpr;
  if (!max_fpr || *max_fpr == 1 || fpr_sum == 0 || tpr_sum == 0) {
    auc = trapz(fpr, tpr);
  } else {
    // Partial AUC up to max_fpr (the curve cut there by linear interpolation), McClish-corrected.
    const double m = *max_fpr;
    const size_t stop = static_cast<size_t>(std::upper_bound(fpr.begin(), fpr.end(), m) - fpr.begin());
    const double w = (m - fpr[stop - 1]) / (fpr[stop] - fpr[stop - 1]);
    const double tpr_cut = tpr[stop - 1] + w * (tpr[stop] - tpr[stop - 1]);
    std::vector<double> x(fpr.begin(), fpr.begin() + stop), y(tpr.begin(), tpr.begin() + stop);
    x.push_back(m);
    y.push_back(tpr_cut);
    const double partial = trapz(x, y);
    const double min_area = 0.5 * m * m;
    auc = 0.5 * (1 + (partial - min_area) / (m - min_area));
  }
  // torchmetrics' dtype: the rates are float32 (counts / count), except that a rate replaced
  // by zeros takes the scores' dtype, so float64 scores without positives or negatives give
  // float64.
  const bool degenerate = fps.back() <= 0 || tps.back() <= 0;
  const DType dtype = degenerate && preds_t.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  return scalar_tensor(auc, {.dtype = dtype});
}

}  // namespace fulgur::metrics
