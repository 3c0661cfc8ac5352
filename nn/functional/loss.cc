#include "fulgur/nn/functional/loss.h"

#include <cmath>
#include <optional>

#include "fulgur/nn/functional/activation.h"
#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/fused_cross_entropy.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn::functional {

// Whether autocast's float32 cast changes an input (else the op runs as it is).
static bool fp32_changes(const Tensor& a, const Tensor& b) {
  return autocast::to_fp32(a).dtype() != a.dtype() || (b.defined() && autocast::to_fp32(b).dtype() != b.dtype());
}

namespace {

void check_reduction(const std::string& reduction, const char* op, bool batchmean = false) {
  FULGUR_CHECK(reduction == "mean" || reduction == "sum" || reduction == "none" ||
                   (batchmean && reduction == "batchmean"),
               op, "\"", reduction, "\" is not a valid value for reduction; use \"mean\", \"sum\" or \"none\"",
               batchmean ? " (or \"batchmean\")" : "");
}

void check_floating(const Tensor& t, const char* op, const char* what) {
  FULGUR_CHECK(t.is_floating_point(), op, what, " must be floating point, got ", t.dtype());
}

void check_same_size(const Tensor& input, const Tensor& target, const char* op) {
  FULGUR_CHECK(input.sizes() == target.sizes(), op, "Using a target size (", shape_str(target.sizes()),
               ") that is different to the input size (", shape_str(input.sizes()),
               ") is deprecated. Please ensure they have the same size.");
}

// Class dim and checks shared by nll_loss and cross_entropy with class indices. Returns
// (input with a batch dim, target with a batch dim) for 1-D inputs.
std::pair<Tensor, Tensor> nd_inputs(const Tensor& input, const Tensor& target, const char* op) {
  FULGUR_CHECK(input.dim() >= 1, op, "input must have at least 1 dimension (classes), got a 0-dim tensor");
  FULGUR_CHECK(target.dtype() == DType::Int64 || target.dtype() == DType::Int32, op,
               "expected class-index targets of dtype int64 (or int32), got ", target.dtype(),
               "; hint: floating targets are class probabilities and must have the input's shape ",
               shape_str(input.sizes()));
  if (input.dim() == 1) {
    FULGUR_CHECK(target.dim() == 0, op, "for a 1-D input (one sample of ", input.size(0),
                 " classes) the target must be 0-D, got ", shape_str(target.sizes()));
    return {input.unsqueeze(0), target.unsqueeze(0)};
  }
  FULGUR_CHECK(target.dim() == input.dim() - 1 && target.size(0) == input.size(0), op,
               "Expected input batch_size (", input.size(0), ") to match target batch_size (",
               target.dim() > 0 ? target.size(0) : 0, ")", target.dim() == input.dim() - 1 ? "" : "; target shape ",
               target.dim() == input.dim() - 1 ? "" : shape_str(target.sizes()));
  for (int64_t d = 2; d < input.dim(); ++d)
    FULGUR_CHECK(target.size(d - 1) == input.size(d), op, "expected target of shape ",
                 shape_str(input.sizes()), " without dim 1, got ", shape_str(target.sizes()));
  return {input, target};
}

// View of a per-class weight [C] that broadcasts along dim 1 of an input of `ndim` dims.
Tensor class_weight_view(const Tensor& weight, int64_t ndim, int64_t class_dim) {
  Shape shape(static_cast<size_t>(ndim), 1);
  shape[static_cast<size_t>(class_dim)] = weight.size(0);
  return weight.view(shape);
}

void check_weight(const Tensor& weight, int64_t n_classes, const char* op) {
  if (!weight.defined()) return;
  FULGUR_CHECK(weight.dim() == 1 && weight.size(0) == n_classes, op, "weight tensor should be defined either for all ",
               n_classes, " classes or no classes but got weight tensor of shape: ", shape_str(weight.sizes()));
}

}  // namespace

Tensor apply_reduction(const Tensor& loss, const std::string& reduction, const char* op) {
  check_reduction(reduction, op);
  if (reduction == "none") return loss;
  if (reduction == "sum") return loss.sum();
  return loss.mean();
}

namespace {

// The first class index outside [0, C) other than ignore_index, if any. CPU targets are
// scanned in place; others go through tensor ops (one device sync either way).
std::optional<int64_t> first_bad_class(const Tensor& t, int64_t C, int64_t ignore_index) {
  if (t.numel() == 0) return std::nullopt;
  if (t.device().is_cpu()) {
    const Tensor c = t.contiguous();
    const int64_t* p = c.data_ptr<int64_t>();
    for (int64_t i = 0, n = c.numel(); i < n; ++i) {
      if (p[i] != ignore_index && (p[i] < 0 || p[i] >= C)) return p[i];
    }
    return std::nullopt;
  }
  const Tensor bad = t.ne(ignore_index).logical_and(t.lt(0).logical_or(t.ge(C)));
  if (!bad.any().item<bool>()) return std::nullopt;
  return t.masked_select(bad).to(kCPU).to_vector<int64_t>()[0];
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return nll_loss(autocast::to_fp32(input), autocast::to_fp32(target), options);
  const char* op = "nll_loss";
  check_reduction(options.reduction, op);
  check_floating(input, op, "input");
  auto [in, tg] = nd_inputs(input, target, op);
  const int64_t N = in.size(0), C = in.size(1);
  check_weight(options.weight, C, op);
  const Tensor t = tg.to(DType::Int64);
  if (const auto bad = first_bad_class(t, C, options.ignore_index)) {
    FULGUR_FAIL(op, "Target ", *bad, " is out of bounds (", C, " classes; ignore_index = ", options.ignore_index, ")");
  }
  // One primitive over [N, C, D] (D: the extra dims flattened). Its inputs besides the
  // scores are per-element constants: `safe` (targets, ignored ones replaced by class 0) and
  // `w` (the class weight of each element, 0 where ignored).
  const int64_t D = N == 0 ? 0 : t.numel() / N;
  const Tensor in3 = in.reshape({N, C, D});
  const Tensor t2 = t.reshape({N, D});
  const Tensor valid = t2.ne(options.ignore_index);
  const Tensor safe = where(valid, t2, Scalar(int64_t{0}));
  Tensor w = valid.to(in.dtype());
  if (options.weight.defined()) {
    w = w.mul(options.weight.to(in.dtype()).to(in.device()).index_select(0, safe.reshape({-1})).view({N, D}));
  }
  OpAttrs attrs;
  attrs.dim = options.reduction == "none" ? 0 : options.reduction == "sum" ? 1 : 2;
  const Tensor loss = record_op1(OpId::NllLoss, {in3, safe, w}, attrs, [&] {
    const Tensor elementwise = in3.gather(1, safe.unsqueeze(1)).squeeze(1).mul(w).neg();
    if (attrs.dim == 0) return std::vector<Tensor>{elementwise};
    if (attrs.dim == 1) return std::vector<Tensor>{elementwise.sum()};
    return std::vector<Tensor>{elementwise.sum().div(w.sum())};  // 0 / 0 = NaN when nothing counts
  });
  if (options.reduction != "none") return loss;
  return input.dim() == 1 ? loss.view({}) : loss.view(tg.sizes());
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyLossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return cross_entropy(autocast::to_fp32(input), autocast::to_fp32(target), options);
  const char* op = "cross_entropy";
  check_reduction(options.reduction, op);
  check_floating(input, op, "input");
  FULGUR_CHECK(options.label_smoothing >= 0 && options.label_smoothing <= 1, op,
               "label_smoothing must be between 0.0 and 1.0. Got: ", options.label_smoothing);
  FULGUR_CHECK(input.dim() >= 1, op, "input must have at least 1 dimension (classes), got a 0-dim tensor");
  const int64_t class_dim = input.dim() == 1 ? 0 : 1;
  const int64_t C = input.size(class_dim);
  check_weight(options.weight, C, op);
  const double ls = options.label_smoothing;
  // Class indices on a device with the fused kernels (CUDA, float32): one kernel each way and
  // O(N) extra memory instead of the [N, C] log-probabilities (tensor/fused_cross_entropy.h).
  // Not while tracing: an exporter refuses losses either way, by the composed ops' names.
  if (!target.is_floating_point() && input.dim() == 2 && target.dim() == 1 && target.size(0) == input.size(0) &&
      target.device() == input.device() && !tracing_active() && has_fused_cross_entropy(input)) {
    check_weight(options.weight, C, op);
    const auto [rows, row_weight] = fused_cross_entropy(input, target, options.weight, options.ignore_index, ls);
    if (options.reduction == "none") return rows;
    if (options.reduction == "sum") return rows.sum();
    return rows.sum().div(row_weight.sum());  // 0 / 0 = NaN when every target is ignored, as PyTorch
  }
  const Tensor logp = input.log_softmax(class_dim);

  if (target.is_floating_point()) {
    // Class probabilities.
    FULGUR_CHECK(target.sizes() == input.sizes(), op, "class-probability targets must have the input's shape ",
                 shape_str(input.sizes()), ", got ", shape_str(target.sizes()));
    Tensor tg = target.to(input.dtype());
    if (ls > 0) tg = tg.mul(1 - ls).add(ls / static_cast<double>(C));
    Tensor prod = logp.mul(tg);
    if (options.weight.defined())
      prod = prod.mul(class_weight_view(options.weight.to(input.dtype()), input.dim(), class_dim));
    if (options.reduction == "none") return prod.sum({class_dim}).neg();
    if (options.reduction == "sum") return prod.sum().neg();
    if (input.numel() == 0) return prod.sum().neg().mul(std::nan(""));
    return prod.sum().neg().div(static_cast<double>(input.numel() / C));
  }

  const NLLLossOptions nll_options{options.weight, options.ignore_index, options.reduction};
  if (ls == 0) return nll_loss(logp, target, nll_options);
  // Label smoothing with class indices: (1 - ls) * nll + ls / C * smooth, where smooth is
  // -sum over classes of (weighted) log-probabilities, zero for ignored targets.
  const Tensor nll = nll_loss(logp, target, nll_options);
  nd_inputs(input, target, op);  // shape checks
  const Tensor t = target.to(DType::Int64);
  const Tensor ignore_mask = t.eq(options.ignore_index);
  Tensor smooth = options.weight.defined()
                      ? logp.mul(class_weight_view(options.weight.to(input.dtype()), input.dim(), class_dim))
                            .sum({class_dim})
                            .neg()
                      : logp.sum({class_dim}).neg();
  smooth = where(ignore_mask, Scalar(0.0), smooth);
  Tensor ret;
  if (options.reduction == "none") {
    ret = smooth;
  } else if (options.reduction == "sum") {
    ret = smooth.sum();
  } else if (options.weight.defined()) {
    const Tensor kept = t.masked_select(ignore_mask.logical_not()).reshape({-1});
    ret = smooth.sum().div(options.weight.to(input.dtype()).index_select(0, kept).sum());
  } else {
    ret = smooth.sum().div(ignore_mask.logical_not().sum().to(input.dtype()));
  }
  return nll.mul(1 - ls).add(ret.mul(ls / static_cast<double>(C)));
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return mse_loss(autocast::to_fp32(input), autocast::to_fp32(target), options);
  check_reduction(options.reduction, "mse_loss");
  check_floating(input, "mse_loss", "input");
  return apply_reduction(input.sub(target).square(), options.reduction, "mse_loss");
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return l1_loss(autocast::to_fp32(input), autocast::to_fp32(target), options);
  check_reduction(options.reduction, "l1_loss");
  check_floating(input, "l1_loss", "input");
  return apply_reduction(input.sub(target).abs(), options.reduction, "l1_loss");
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return smooth_l1_loss(autocast::to_fp32(input), autocast::to_fp32(target), options);
  const char* op = "smooth_l1_loss";
  check_reduction(options.reduction, op);
  check_floating(input, op, "input");
  FULGUR_CHECK(options.beta >= 0, op, "smooth_l1_loss does not support negative values for beta (got ",
               options.beta, ")");
  const Tensor d = input.sub(target);
  const Tensor ad = d.abs();
  if (options.beta == 0) return apply_reduction(ad, options.reduction, op);
  const Tensor loss = where(ad.lt(options.beta), d.square().mul(0.5 / options.beta), ad.sub(0.5 * options.beta));
  return apply_reduction(loss, options.reduction, op);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return binary_cross_entropy(autocast::to_fp32(input), autocast::to_fp32(target), options);
  const char* op = "binary_cross_entropy";
  check_reduction(options.reduction, op);
  check_floating(input, op, "input");
  check_same_size(input, target, op);
  if (input.numel() > 0) {
    const Tensor x = input.detach();
    FULGUR_CHECK(x.ge(0).logical_and(x.le(1)).all().item<bool>(), op,
                 "all elements of input should be between 0 and 1; hint: for logits use "
                 "binary_cross_entropy_with_logits");
  }
  const Tensor t = target.to(input.dtype());
  // PyTorch clamps each log at -100 so that 0 * log(0) stays finite.
  const Tensor log_x = input.log().clamp(-100.0);
  const Tensor log_1mx = input.neg().add(1).log().clamp(-100.0);
  Tensor loss = t.mul(log_x).add(t.neg().add(1).mul(log_1mx)).neg();
  if (options.weight.defined()) loss = loss.mul(options.weight.to(input.dtype()));
  return apply_reduction(loss, options.reduction, op);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return binary_cross_entropy_with_logits(autocast::to_fp32(input), autocast::to_fp32(target), options);
  const char* op = "binary_cross_entropy_with_logits";
  check_reduction(options.reduction, op);
  check_floating(input, op, "input");
  check_same_size(input, target, op);
  const Tensor t = target.to(input.dtype());
  // softplus(-x) = m + log(exp(-m) + exp(-x - m)) with m = max(-x, 0): never overflows, and
  // its gradient (-sigmoid(-x)) does not depend on m, which is therefore detached.
  const Tensor m = input.detach().neg().clamp(0.0);
  const Tensor softplus_neg = m.neg().exp().add(input.neg().sub(m).exp()).log().add(m);
  Tensor loss;
  if (options.pos_weight.defined()) {
    const Tensor log_weight = options.pos_weight.to(input.dtype()).sub(1).mul(t).add(1);
    loss = t.neg().add(1).mul(input).add(log_weight.mul(softplus_neg));
  } else {
    loss = t.neg().add(1).mul(input).add(softplus_neg);
  }
  if (options.weight.defined()) loss = loss.mul(options.weight.to(input.dtype()));
  return apply_reduction(loss, options.reduction, op);
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options) {
  if (is_autocast_enabled(input.device().type) && fp32_changes(input, target))  // autocast's float32 list
    return kl_div(autocast::to_fp32(input), autocast::to_fp32(target), options);
  const char* op = "kl_div";
  check_reduction(options.reduction, op, /*batchmean=*/true);
  check_floating(input, op, "input");
  const Tensor t = target.to(input.dtype());
  Tensor loss;
  if (options.log_target) {
    loss = t.exp().mul(t.sub(input));
  } else {
    // xlogy(t, t) - t * input, with 0 log 0 = 0 (and a finite gradient there).
    const Tensor zero = t.eq(0);
    const Tensor xlogx = where(zero, Scalar(0.0), t.mul(where(zero, Scalar(1.0), t).log()));
    loss = xlogx.sub(t.mul(input));
  }
  if (options.reduction == "batchmean") {
    const Tensor s = loss.sum();
    return input.dim() == 0 ? s : s.div(static_cast<double>(input.size(0)));
  }
  return apply_reduction(loss, options.reduction, op);
}

}  // namespace fulgur::nn::functional
