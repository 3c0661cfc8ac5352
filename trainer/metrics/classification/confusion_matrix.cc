#include "fulgur/trainer/metrics/classification/confusion_matrix.h"

#include <utility>

#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/classification/input_checks.h"
#include "fulgur/trainer/metrics/warnings.h"

namespace fulgur::metrics {

ConfusionMatrix::ConfusionMatrix(ConfusionMatrixOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  const char* op = "ConfusionMatrix";
  Shape shape;
  if (o.task == "binary") {
    prefix_ = "Binary";
    shape = {2, 2};
  } else if (o.task == "multiclass") {
    prefix_ = "Multiclass";
    FULGUR_CHECK(o.num_classes.has_value(), op,
                 "task='multiclass' needs `num_classes`. Hint: .num_classes = <number of classes>.");
    FULGUR_CHECK(*o.num_classes >= 2, op,
                 "Expected argument `num_classes` to be an integer larger than 1, but got ", *o.num_classes);
    shape = {*o.num_classes, *o.num_classes};
  } else if (o.task == "multilabel") {
    prefix_ = "Multilabel";
    FULGUR_CHECK(o.num_labels.has_value(), op,
                 "task='multilabel' needs `num_labels`. Hint: .num_labels = <number of labels>.");
    FULGUR_CHECK(*o.num_labels >= 2, op,
                 "Expected argument `num_labels` to be an integer larger than 1, but got ", *o.num_labels);
    shape = {*o.num_labels, 2, 2};
  } else {
    FULGUR_FAIL(op, "Invalid Classification: expected one of ('binary', 'multiclass', 'multilabel'), but got '",
                o.task, "'. Hint: set .task.");
  }
  FULGUR_CHECK(o.threshold >= 0 && o.threshold <= 1, op,
               "Expected argument `threshold` to be a float in the [0,1] range, but got ", o.threshold, ".");
  FULGUR_CHECK(o.normalize == "none" || o.normalize == "true" || o.normalize == "pred" || o.normalize == "all", op,
               "Expected argument `normalize` to be one of ('true', 'pred', 'all', 'none'), but got '", o.normalize,
               "'.");
  add_state("confmat", zeros(shape, {.dtype = DType::Int64}), Reduction::Sum);
}

std::string ConfusionMatrix::name() const { return prefix_ + "ConfusionMatrix"; }

void ConfusionMatrix::update_state(const std::vector<Tensor>& inputs) {
  const Tensor& preds = inputs[0];
  const Tensor& target = inputs[1];
  const std::string op = op_name("update");
  const auto& o = options_;
  const auto& ii = o.ignore_index;
  Tensor& confmat = state("confmat");

  if (prefix_ == "Binary") {
    detail::check_same_shape(op, preds, target);
    if (o.validate_args) {
      detail::check_binary_target(op, target, ii);
      if (!preds.is_floating_point()) detail::check_binary_label_preds(op, preds);
    }
    Tensor p = preds.reshape({-1});
    Tensor t = target.reshape({-1});
    if (ii) {
      const Tensor keep = t.ne(*ii);
      p = p.masked_select(keep);
      t = t.masked_select(keep);
    }
    if (p.is_floating_point()) p = detail::sigmoid_if_logits(p).gt(o.threshold);
    confmat.add_(detail::bincount(t.to(DType::Int64) * 2 + p.to(DType::Int64), 4).reshape({2, 2}));
    return;
  }

  if (prefix_ == "Multiclass") {
    const int64_t C = *o.num_classes;
    FULGUR_CHECK(!target.is_floating_point(), op.c_str(), "`target` must hold integer class indices, got ",
                 target.dtype(), " ", shape_str(target.sizes()), ". Hint: target.to(kInt64).");
    const bool scores = preds.dim() == target.dim() + 1;
    if (scores) {
      FULGUR_CHECK(preds.dim() >= 2 && preds.is_floating_point() && preds.size(1) == C &&
                       preds.size(0) == target.size(0) &&
                       IntArrayRef(preds.sizes().data() + 2, preds.dim() - 2) ==
                           IntArrayRef(target.sizes().data() + 1, target.dim() - 1),
                   op.c_str(),
                   "If `preds` have one dimension more than `target`, `preds` should be a float tensor of shape "
                   "(N, C, ...) with C = num_classes (",
                   C, ") and `target` (N, ...); got preds ", preds.dtype(), " ", shape_str(preds.sizes()),
                   " and target ", shape_str(target.sizes()), ".");
    } else {
      FULGUR_CHECK(preds.sizes() == target.sizes() && !preds.is_floating_point(), op.c_str(),
                   "Either `preds` and `target` both should have the (same) shape (N, ...) with integer labels, or "
                   "`target` should be (N, ...) and `preds` should be (N, C, ...); got preds ",
                   preds.dtype(), " ", shape_str(preds.sizes()), " and target ", shape_str(target.sizes()), ".");
    }
    if (o.validate_args) {
      detail::check_class_values(op, target, C, ii, "target");
      if (!scores) detail::check_class_values(op, preds, C, std::nullopt, "preds");
    }
    Tensor p = (scores ? preds.argmax(1) : preds).reshape({-1}).to(DType::Int64);
    Tensor t = target.reshape({-1}).to(DType::Int64);
    if (ii) {
      const Tensor keep = t.ne(*ii);
      p = p.masked_select(keep);
      t = t.masked_select(keep);
    }
    confmat.add_(detail::bincount(t * C + p, C * C).reshape({C, C}));
    return;
  }

  // Multilabel: per label, a 2x2 matrix over every position (N and any trailing dims).
  const int64_t L = *o.num_labels;
  detail::check_same_shape(op, preds, target);
  FULGUR_CHECK(preds.dim() >= 2 && preds.size(1) == L, op.c_str(),
               "Expected both `target.shape[1]` and `preds.shape[1]` to be equal to the number of labels (", L,
               "), got ", shape_str(preds.sizes()), ". Hint: multilabel inputs are (N, num_labels, ...).");
  if (o.validate_args) {
    detail::check_binary_target(op, target, ii);
    if (!preds.is_floating_point()) detail::check_binary_label_preds(op, preds);
  }
  Tensor p = preds.is_floating_point() ? detail::sigmoid_if_logits(preds).gt(o.threshold) : preds;
  // movedim(1, -1).reshape(-1, L)
  std::vector<int64_t> perm{0};
  for (int64_t d = 2; d < preds.dim(); ++d) perm.push_back(d);
  perm.push_back(1);
  p = p.permute(perm).reshape({-1, L}).to(DType::Int64);
  Tensor t = target.permute(perm).reshape({-1, L}).to(DType::Int64);
  Tensor idx = t * 2 + p + arange(0, 4 * L, 4, {.device = p.device()});
  if (ii) idx = idx.masked_select(t.ne(*ii));
  confmat.add_(detail::bincount(idx.reshape({-1}), 4 * L).reshape({L, 2, 2}));
}

Tensor ConfusionMatrix::compute_state() {
  const Tensor& confmat = state("confmat");
  const std::string& norm = options_.normalize;
  if (norm == "none") return confmat.clone();
  Tensor c = confmat.to(DType::Float32);
  if (norm == "true") c = c / c.sum({-1}, true);
  if (norm == "pred") c = c / c.sum({-2}, true);
  if (norm == "all") c = c / c.sum({-2, -1}, true);
  const Tensor nan = isnan(c);
  const int64_t n = nan.sum().item<int64_t>();
  if (n > 0) {
    c = c.masked_fill(nan, 0.0);
    warn(std::to_string(n) + " NaN values found in confusion matrix have been replaced with zeros.");
  }
  return c;
}

}  // namespace fulgur::metrics
