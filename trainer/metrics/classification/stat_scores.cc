#include "fulgur/trainer/metrics/classification/stat_scores.h"

#include <utility>

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"

namespace fulgur::metrics {
namespace {

const char* task_prefix(StatScores::Task t) {
  switch (t) {
    case StatScores::Task::Binary: return "Binary";
    case StatScores::Task::Multiclass: return "Multiclass";
    case StatScores::Task::Multilabel: return "Multilabel";
  }
  return "";
}

// The option checks of torchmetrics' _*_stat_scores_arg_validation, with its messages.
StatScores::Task validate_options(const StatScoresOptions& o, const std::string& metric) {
  const std::string op = metric;
  StatScores::Task task;
  if (o.task == "binary") {
    task = StatScores::Task::Binary;
  } else if (o.task == "multiclass") {
    task = StatScores::Task::Multiclass;
  } else if (o.task == "multilabel") {
    task = StatScores::Task::Multilabel;
  } else {
    FULGUR_FAIL(op.c_str(), "Invalid Classification: expected one of ('binary', 'multiclass', 'multilabel'), but got '",
                o.task, "'. Hint: set .task.");
  }
  if (task != StatScores::Task::Multiclass)
    FULGUR_CHECK(o.threshold >= 0 && o.threshold <= 1, op.c_str(),
                 "Expected argument `threshold` to be a float in the [0,1] range, but got ", o.threshold, ".");
  if (task == StatScores::Task::Multiclass) {
    FULGUR_CHECK(o.num_classes.has_value(), op.c_str(),
                 "task='multiclass' needs `num_classes`. Hint: .num_classes = <number of classes>.");
    FULGUR_CHECK(*o.num_classes >= 2, op.c_str(),
                 "Expected argument `num_classes` to be an integer larger than 1, but got ", *o.num_classes);
    FULGUR_CHECK(o.top_k >= 1, op.c_str(),
                 "Expected argument `top_k` to be an integer larger than or equal to 1, but got ", o.top_k);
    FULGUR_CHECK(o.top_k <= *o.num_classes, op.c_str(),
                 "Expected argument `top_k` to be smaller or equal to `num_classes` but got ", o.top_k, " and ",
                 *o.num_classes);
  }
  if (task == StatScores::Task::Multilabel) {
    FULGUR_CHECK(o.num_labels.has_value(), op.c_str(),
                 "task='multilabel' needs `num_labels`. Hint: .num_labels = <number of labels>.");
    FULGUR_CHECK(*o.num_labels >= 2, op.c_str(),
                 "Expected argument `num_labels` to be an integer larger than 1, but got ", *o.num_labels);
  }
  if (task != StatScores::Task::Binary)
    FULGUR_CHECK(o.average == "micro" || o.average == "macro" || o.average == "weighted" || o.average == "none",
                 op.c_str(),
                 "Expected argument `average` to be one of ('micro', 'macro', 'weighted', 'none'), but got '",
                 o.average, "'");
  FULGUR_CHECK(o.multidim_average == "global" || o.multidim_average == "samplewise", op.c_str(),
               "Expected argument `multidim_average` to be one of ('global', 'samplewise'), but got '",
               o.multidim_average, "'");
  FULGUR_CHECK(o.multidim_average == "global", op.c_str(),
               "multidim_average='samplewise' is not implemented in Fulgur yet. Hint: use 'global'.");
  FULGUR_CHECK(o.zero_division == 0 || o.zero_division == 1, op.c_str(),
               "Expected argument `zero_division` to be 0 or 1, but got ", o.zero_division, ".");
  return task;
}

}  // namespace

StatScores::StatScores(StatScoresOptions options) : StatScores(std::move(options), "StatScores") {}

StatScores::StatScores(StatScoresOptions options, std::string metric)
    : options_(std::move(options)), metric_(std::move(metric)) {
  task_ = validate_options(options_, metric_);
  int64_t size = 1;
  if (task_ == Task::Multiclass && !(options_.average == "micro" && options_.top_k == 1)) size = *options_.num_classes;
  if (task_ == Task::Multilabel) size = *options_.num_labels;
  const Tensor zero = zeros({size}, {.dtype = DType::Int64});
  add_state("tp", zero, Reduction::Sum);
  add_state("fp", zero, Reduction::Sum);
  add_state("tn", zero, Reduction::Sum);
  add_state("fn", zero, Reduction::Sum);
}

std::string StatScores::name() const { return task_prefix(task_) + metric_; }

void StatScores::add_counts(const Tensor& tp, const Tensor& fp, const Tensor& tn, const Tensor& fn) {
  state("tp").add_(tp);
  state("fp").add_(fp);
  state("tn").add_(tn);
  state("fn").add_(fn);
}

void StatScores::update_state(const std::vector<Tensor>& inputs) {
  const Tensor& preds = inputs[0];
  const Tensor& target = inputs[1];
  switch (task_) {
    case Task::Binary: update_binary(preds, target); break;
    case Task::Multiclass: update_multiclass(preds, target); break;
    case Task::Multilabel: update_multilabel(preds, target); break;
  }
}

// (target == preds) & (target == 1) etc., summed over `dims` (all when empty). Positions
// whose target was set to -1 (ignored) fall in none of the four.
namespace {
struct Counts {
  Tensor tp, fp, tn, fn;
};
Counts count(const Tensor& preds, const Tensor& target, IntArrayRef dims) {
  const Tensor same = target.eq(preds);
  const Tensor differ = target.ne(preds);
  const Tensor pos = target.eq(1);
  const Tensor neg = target.eq(0);
  return {same.logical_and(pos).sum(dims), differ.logical_and(neg).sum(dims), same.logical_and(neg).sum(dims),
          differ.logical_and(pos).sum(dims)};
}
}  // namespace

void StatScores::update_binary(const Tensor& preds, const Tensor& target) {
  const std::string op = op_name("update");
  detail::check_same_shape(op, preds, target);
  if (options_.validate_args) {
    detail::check_binary_target(op, target, options_.ignore_index);
    if (!preds.is_floating_point()) detail::check_binary_label_preds(op, preds);
  }
  Tensor p = preds.is_floating_point() ? detail::sigmoid_if_logits(preds).gt(options_.threshold) : preds;
  Tensor t = options_.ignore_index ? where(target.eq(*options_.ignore_index), Scalar(-1), target) : target;
  const Counts c = count(p, t, {});
  add_counts(c.tp, c.fp, c.tn, c.fn);
}

void StatScores::update_multilabel(const Tensor& preds, const Tensor& target) {
  const std::string op = op_name("update");
  const int64_t L = *options_.num_labels;
  detail::check_same_shape(op, preds, target);
  FULGUR_CHECK(preds.dim() >= 2 && preds.size(1) == L, op.c_str(),
               "Expected both `target.shape[1]` and `preds.shape[1]` to be equal to the number of labels but got ",
               preds.dim() >= 2 ? std::to_string(preds.size(1)) : "a " + std::to_string(preds.dim()) + "-D tensor",
               " and expected ", L, " (preds and target ", shape_str(preds.sizes()),
               "). Hint: multilabel inputs are (N, num_labels, ...).");
  if (options_.validate_args) {
    detail::check_binary_target(op, target, options_.ignore_index);
    if (!preds.is_floating_point()) detail::check_binary_label_preds(op, preds);
  }
  Tensor p = preds.is_floating_point() ? detail::sigmoid_if_logits(preds).gt(options_.threshold) : preds;
  Tensor t = options_.ignore_index ? where(target.eq(*options_.ignore_index), Scalar(-1), target) : target;
  const int64_t N = preds.size(0);
  p = p.reshape({N, L, -1});
  t = t.reshape({N, L, -1});
  const Counts c = count(p, t, {0, 2});
  add_counts(c.tp, c.fp, c.tn, c.fn);
}

void StatScores::update_multiclass(const Tensor& preds, const Tensor& target) {
  const std::string op = op_name("update");
  const int64_t C = *options_.num_classes;
  const int64_t k = options_.top_k;
  const auto& ii = options_.ignore_index;
  FULGUR_CHECK(!target.is_floating_point(), op.c_str(), "`target` must hold integer class indices, got ",
               target.dtype(), " ", shape_str(target.sizes()), ". Hint: target.to(kInt64).");
  const bool scores = preds.dim() == target.dim() + 1;
  if (scores) {
    FULGUR_CHECK(preds.dim() >= 2, op.c_str(), "class scores `preds` must be (N, C, ...), got ",
                 shape_str(preds.sizes()), " with target ", shape_str(target.sizes()), ".");
    FULGUR_CHECK(preds.is_floating_point(), op.c_str(),
                 "If `preds` have one dimension more than `target`, `preds` should be a float tensor (got ",
                 preds.dtype(), ").");
    FULGUR_CHECK(preds.size(1) == C, op.c_str(),
                 "If `preds` have one dimension more than `target`, `preds.shape[1]` should be equal to number of "
                 "classes (preds ", shape_str(preds.sizes()), ", num_classes ", C, ").");
    FULGUR_CHECK(preds.size(0) == target.size(0) &&
                     IntArrayRef(preds.sizes().data() + 2, preds.dim() - 2) ==
                         IntArrayRef(target.sizes().data() + 1, target.dim() - 1),
                 op.c_str(),
                 "If `preds` have one dimension more than `target`, the shape of `preds` should be (N, C, ...), and "
                 "the shape of `target` should be (N, ...) (got preds ",
                 shape_str(preds.sizes()), " and target ", shape_str(target.sizes()), ").");
  } else if (preds.dim() == target.dim()) {
    FULGUR_CHECK(preds.sizes() == target.sizes(), op.c_str(),
                 "The `preds` and `target` should have the same shape, got `preds` with shape=",
                 shape_str(preds.sizes()), " and `target` with shape=", shape_str(target.sizes()), ".");
    FULGUR_CHECK(!preds.is_floating_point(), op.c_str(), "`preds` of the same shape as `target` ",
                 shape_str(preds.sizes()), " must be integer labels, got ", preds.dtype(),
                 ". Hint: class scores are (N, C, ...).");
  } else {
    FULGUR_FAIL(op.c_str(),
                "Either `preds` and `target` both should have the (same) shape (N, ...), or `target` should be "
                "(N, ...) and `preds` should be (N, C, ...); got preds ",
                shape_str(preds.sizes()), " and target ", shape_str(target.sizes()), ".");
  }
  FULGUR_CHECK(k == 1 || scores, op.c_str(), "top_k=", k, " needs class scores `preds` of shape (N, C, ...), got ",
               shape_str(preds.sizes()), " labels.");
  if (options_.validate_args) {
    detail::check_class_values(op, target, C, ii, "target");
    if (!scores) detail::check_class_values(op, preds, C, std::nullopt, "preds");
  }

  if (k == 1) {
    Tensor p = (scores ? preds.argmax(1) : preds).reshape({-1}).to(DType::Int64);
    Tensor t = target.reshape({-1}).to(DType::Int64);
    if (ii) {
      const Tensor keep = t.ne(*ii);
      p = p.masked_select(keep);
      t = t.masked_select(keep);
    }
    if (options_.average == "micro") {
      // torchmetrics counts each error once as fp and once as fn; tn fills up to C * n.
      const Tensor tp = p.eq(t).sum();
      const Tensor wrong = p.ne(t).sum();
      const Tensor tn = (wrong + wrong + tp).neg().add(Scalar(C * p.numel()));
      add_counts(tp, wrong, tn, wrong);
      return;
    }
    const Tensor confmat = detail::bincount(t * C + p, C * C).reshape({C, C});
    const Tensor tp = confmat.reshape({-1}).slice(0, 0, std::nullopt, C + 1);  // the diagonal
    const Tensor fp = confmat.sum({0}) - tp;
    const Tensor fn = confmat.sum({1}) - tp;
    const Tensor tn = confmat.sum() - (fp + fn + tp);
    add_counts(tp, fp, tn, fn);
    return;
  }

  // top_k > 1: one-hot predictions of the k best classes against one-hot targets, per class.
  const int64_t N = preds.size(0);
  const Tensor scores3 = preds.reshape({N, C, -1});
  const Tensor top = std::get<1>(scores3.topk(k, 1));  // [N, k, L]
  const Tensor pred_oh = zeros_like(scores3, DType::Bool).scatter(1, top, Scalar(true)).permute({0, 2, 1});
  Tensor t = target.reshape({N, -1}).to(DType::Int64);  // [N, L]
  Tensor valid = ones_like(t, DType::Bool);
  if (ii) {
    valid = t.ne(*ii);
    t = where(valid, t, Scalar(0));
  }
  const Tensor target_oh = one_hot(t, C).to(DType::Bool);  // [N, L, C]
  const Tensor v = valid.unsqueeze(-1);
  const Tensor not_pred = pred_oh.logical_not();
  const Tensor not_target = target_oh.logical_not();
  add_counts(pred_oh.logical_and(target_oh).logical_and(v).sum({0, 1}),
             pred_oh.logical_and(not_target).logical_and(v).sum({0, 1}),
             not_pred.logical_and(not_target).logical_and(v).sum({0, 1}),
             not_pred.logical_and(target_oh).logical_and(v).sum({0, 1}));
}

Tensor StatScores::compute_state() {
  const Tensor res = stack({tp(), fp(), tn(), fn(), tp() + fn()}, -1);  // [size, 5]
  if (task_ == Task::Binary) return res.reshape({5});
  const std::string& avg = options_.average;
  if (avg == "micro") return res.sum({0});
  if (avg == "macro") return res.to(DType::Float32).mean({0});
  if (avg == "weighted") {
    const Tensor w = tp() + fn();
    return (res * (w / w.sum()).reshape({-1, 1})).sum({0});
  }
  return res.clone();
}

namespace detail {

Tensor adjust_weights_safe_divide(const Tensor& score, const std::string& average, bool multilabel,
                                  const Tensor& tp, const Tensor& fp, const Tensor& fn, int64_t top_k) {
  if (average == "none") return score;
  Tensor weights;
  if (average == "weighted") {
    weights = tp + fn;
  } else {
    weights = ones_like(score);
    if (!multilabel) weights = weights.masked_fill((top_k == 1 ? tp + fp + fn : tp + fn).eq(0), 0.0);
  }
  return safe_divide(weights * score, weights.sum({-1}, true)).sum({-1});
}

}  // namespace detail
}  // namespace fulgur::metrics
