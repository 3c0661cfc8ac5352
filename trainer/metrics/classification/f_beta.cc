#include "fulgur/trainer/metrics/classification/f_beta.h"

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"

namespace fulgur::metrics {
namespace {

StatScoresOptions base_options(const FBetaScoreOptions& o) {
  FULGUR_CHECK(o.beta > 0, "FBetaScore", "Expected argument `beta` to be a float larger than 0, but got ", o.beta,
               ".");
  return {.task = o.task,
          .threshold = o.threshold,
          .num_classes = o.num_classes,
          .num_labels = o.num_labels,
          .average = o.average,
          .multidim_average = o.multidim_average,
          .top_k = o.top_k,
          .ignore_index = o.ignore_index,
          .validate_args = o.validate_args,
          .zero_division = o.zero_division};
}

}  // namespace

FBetaScore::FBetaScore(FBetaScoreOptions options)
    : FBetaScore(base_options(options), options.beta, "FBetaScore") {}

FBetaScore::FBetaScore(StatScoresOptions options, double beta, std::string metric)
    : StatScores(std::move(options), std::move(metric)), beta_(beta) {}

// torchmetrics' _fbeta_reduce (global).
Tensor FBetaScore::compute_state() {
  Tensor tp = this->tp(), fp = this->fp(), fn = this->fn();
  const double b2 = beta_ * beta_;
  const double zd = options().zero_division;
  const auto score = [&](const Tensor& tp_, const Tensor& fp_, const Tensor& fn_) {
    return detail::safe_divide(tp_ * (1 + b2), tp_ * (1 + b2) + fn_ * b2 + fp_, zd);
  };
  const std::string avg = average();
  if (avg == "binary") return score(tp, fp, fn);
  if (avg == "micro") return score(tp.sum({0}), fp.sum({0}), fn.sum({0}));
  return detail::adjust_weights_safe_divide(score(tp, fp, fn), avg, multilabel(), tp, fp, fn, 1);
}

}  // namespace fulgur::metrics
