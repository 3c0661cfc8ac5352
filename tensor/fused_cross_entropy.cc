#include "fulgur/tensor/fused_cross_entropy.h"

#include "fulgur/kernels/error.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

// The class weights as the kernels take them: a contiguous [classes] tensor of logits' dtype
// on logits' device, or an empty one for "all ones" (autograd nodes need defined inputs).
Tensor weight_or_empty(const Tensor& weight, const Tensor& logits) {
  if (!weight.defined()) return empty({0}, {.dtype = logits.dtype(), .device = logits.device()});
  return weight.to(logits.dtype()).to(logits.device()).contiguous();
}

kernels::CrossEntropyArgs args_of(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                                  double label_smoothing) {
  kernels::CrossEntropyArgs a;
  a.dtype = x.dtype();
  a.rows = x.size(0);
  a.classes = x.size(1);
  a.logits = static_cast<const char*>(x.data_ptr());
  a.target = static_cast<const int64_t*>(target.data_ptr());
  a.weight = weight.numel() ? static_cast<const char*>(weight.data_ptr()) : nullptr;
  a.ignore_index = ignore_index;
  a.label_smoothing = label_smoothing;
  return a;
}

}  // namespace

bool has_fused_cross_entropy(const Tensor& logits) {
  const kernels::KernelTable& t = kernels::kernels_for(logits.device().type);
  return t.cross_entropy_forward && t.cross_entropy_backward && t.supports_cross_entropy &&
         t.supports_cross_entropy(logits.dtype());
}

FusedCrossEntropy fused_cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                      int64_t ignore_index, double label_smoothing) {
  const char* op = "cross_entropy";
  FULGUR_CHECK(has_fused_cross_entropy(logits), op, "internal: no fused kernels for ", logits.dtype(), " on ",
               logits.device());
  FULGUR_CHECK(logits.dim() == 2 && target.dim() == 1 && target.size(0) == logits.size(0), op,
               "the fused path takes logits [rows, classes] and targets [rows], got ", shape_str(logits.sizes()),
               " and ", shape_str(target.sizes()));
  internal::check_same_device(op, {&logits, &target});
  const Tensor x = logits.contiguous();
  const Tensor t = target.to(DType::Int64).contiguous();
  const Tensor w = weight_or_empty(weight, logits);
  FULGUR_CHECK(w.numel() == 0 || w.numel() == x.size(1), op, "weight must have ", x.size(1), " elements, got ",
               w.numel());
  OpAttrs attrs;
  attrs.start = ignore_index;
  attrs.scalar = label_smoothing;
  const std::vector<Tensor> out = record_op(OpId::CrossEntropy, {x, t, w}, attrs, [&] {
    const int64_t rows = x.size(0);
    Tensor loss = make_tensor({rows}, x.dtype(), x.device());
    Tensor row_weight = make_tensor({rows}, x.dtype(), x.device());
    Tensor lse = make_tensor({rows}, x.dtype(), x.device());
    if (rows > 0) {
      Tensor bad = zeros({1}, {.dtype = DType::Int32, .device = x.device()});
      kernels::CrossEntropyArgs a = args_of(x, t, w, ignore_index, label_smoothing);
      a.loss = static_cast<char*>(loss.data_ptr());
      a.lse = static_cast<char*>(lse.data_ptr());
      a.row_weight = static_cast<char*>(row_weight.data_ptr());
      a.bad_target = static_cast<int32_t*>(bad.data_ptr());
      internal::table(x, op).cross_entropy_forward(a);
      const int32_t bad_row = bad.item<int32_t>();  // waits for the kernel
      if (bad_row != 0) {
        const int64_t value = t.select(0, bad_row - 1).item<int64_t>();
        FULGUR_FAIL(op, "Target ", value, " is out of bounds (", x.size(1), " classes; ignore_index = ", ignore_index,
                    ")");
      }
    }
    return std::vector<Tensor>{loss, row_weight, lse};
  });
  return {out[0], out[1]};
}

namespace internal {

Tensor fused_cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                    const Tensor& lse, const Tensor& grad_rows, int64_t ignore_index,
                                    double label_smoothing) {
  const int64_t rows = logits.size(0), classes = logits.size(1);
  if (grad_mode_enabled()) {
    // create_graph: the formula in tensor ops, so that the gradient has a history.
    const Tensor valid = target.ne(ignore_index);
    const Tensor safe = where(valid, target, Scalar(int64_t{0}));
    // softmax of the logits, not exp(x - lse): lse is an output of the node whose gradient the
    // formula drops, so the second derivative must not go through it.
    const Tensor p = logits.softmax(1);
    const Tensor onehot = zeros_like(logits).scatter(1, safe.unsqueeze(1), Scalar(1.0));
    Tensor w_t = valid.to(logits.dtype());
    Tensor class_w = ones({classes}, {.dtype = logits.dtype(), .device = logits.device()});
    if (weight.numel()) {
      class_w = weight;
      w_t = w_t.mul(weight.index_select(0, safe));
    }
    const double eps = label_smoothing;
    Tensor d = p.sub(onehot).mul(w_t.unsqueeze(1)).mul(1.0 - eps);
    if (eps != 0.0) {
      const Tensor smooth = p.mul(class_w.sum()).sub(class_w.unsqueeze(0)).mul(eps / static_cast<double>(classes));
      d = d.add(smooth.mul(valid.to(logits.dtype()).unsqueeze(1)));
    }
    return d.mul(grad_rows.unsqueeze(1));
  }
  Tensor dlogits = make_tensor({rows, classes}, logits.dtype(), logits.device());
  if (rows == 0) return dlogits;
  const Tensor g = grad_rows.to(logits.dtype()).contiguous();
  const Tensor l = lse.contiguous();
  kernels::CrossEntropyArgs a = args_of(logits, target, weight, ignore_index, label_smoothing);
  a.lse = static_cast<char*>(const_cast<void*>(l.data_ptr()));
  a.grad_rows = static_cast<const char*>(g.data_ptr());
  a.dlogits = static_cast<char*>(dlogits.data_ptr());
  internal::table(logits, "cross_entropy backward").cross_entropy_backward(a);
  return dlogits;
}

}  // namespace internal
}  // namespace fulgur
