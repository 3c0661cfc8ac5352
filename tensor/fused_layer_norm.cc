#include "fulgur/tensor/fused_layer_norm.h"

#include "fulgur/kernels/error.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

// An affine parameter as the kernels take it: contiguous [cols] of x's dtype on x's device,
// or an empty tensor for "none" (autograd nodes need defined inputs).
Tensor param_or_empty(const Tensor& p, const Tensor& x, int64_t cols, const char* name) {
  if (!p.defined()) return empty({0}, {.dtype = x.dtype(), .device = x.device()});
  FULGUR_CHECK(p.numel() == cols, "layer_norm", name, " must have ", cols,
               " elements (the normalised dims' product), got ", shape_str(p.sizes()));
  return p.to(x.dtype()).to(x.device()).reshape({cols}).contiguous();
}

const char* ptr_or_null(const Tensor& t) { return t.numel() ? static_cast<const char*>(t.data_ptr()) : nullptr; }

// The arguments both directions share: x [rows, cols] (contiguous), the weight, eps.
kernels::LayerNormArgs args_of(const Tensor& x, const Tensor& weight, double eps) {
  kernels::LayerNormArgs a;
  a.dtype = x.dtype();
  a.rows = x.size(0);
  a.cols = x.size(1);
  a.eps = eps;
  a.x = static_cast<const char*>(x.data_ptr());
  a.gamma = ptr_or_null(weight);
  return a;
}

}  // namespace

bool has_fused_layer_norm(const Tensor& x) {
  const kernels::KernelTable& t = kernels::kernels_for(x.device().type);
  return t.layer_norm_forward && t.layer_norm_backward && t.supports_layer_norm && t.supports_layer_norm(x.dtype());
}

Tensor fused_layer_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  FULGUR_CHECK(has_fused_layer_norm(input), op, "internal: no fused kernels for ", input.dtype(), " on ",
               input.device());
  FULGUR_CHECK(input.dim() == 2 && input.size(1) > 0, op, "the fused path takes x [rows, cols > 0], got ",
               shape_str(input.sizes()));
  const Tensor x = input.contiguous();
  const int64_t rows = x.size(0), cols = x.size(1);
  const Tensor w = param_or_empty(weight, x, cols, "weight");
  const Tensor b = param_or_empty(bias, x, cols, "bias");
  internal::check_same_device(op, {&x, &w, &b});
  OpAttrs attrs;
  attrs.scalar = eps;
  return record_op(OpId::LayerNorm, {x, w, b}, attrs, [&] {
    Tensor y = make_tensor({rows, cols}, x.dtype(), x.device());
    Tensor mean = make_tensor({rows}, x.dtype(), x.device());
    Tensor rstd = make_tensor({rows}, x.dtype(), x.device());
    if (rows > 0) {
      kernels::LayerNormArgs a = args_of(x, w, eps);
      a.beta = ptr_or_null(b);
      a.y = static_cast<char*>(y.data_ptr());
      a.mean = static_cast<char*>(mean.data_ptr());
      a.rstd = static_cast<char*>(rstd.data_ptr());
      internal::table(x, op).layer_norm_forward(a);
    }
    return std::vector<Tensor>{y, mean, rstd};
  })[0];
}

namespace internal {

std::vector<Tensor> fused_layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                              const Tensor& mean, const Tensor& rstd, const Tensor& grad_y,
                                              double eps) {
  const int64_t rows = x.size(0), cols = x.size(1);
  const bool affine_w = weight.numel() > 0, affine_b = bias.numel() > 0;
  if (grad_mode_enabled()) {
    // create_graph: xhat = (x - mu) * rstd, dxhat = dy * w,
    // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dw = sum_rows(dy * xhat).
    const Tensor mu = x.mean({1}, true);
    const Tensor centered = x.sub(mu);
    const Tensor r = centered.square().mean({1}, true).add(eps).rsqrt();
    const Tensor xhat = centered.mul(r);
    const Tensor dxhat = affine_w ? grad_y.mul(weight) : grad_y;
    const Tensor dx =
        dxhat.sub(dxhat.mean({1}, true)).sub(xhat.mul(dxhat.mul(xhat).mean({1}, true))).mul(r);
    return {dx, affine_w ? grad_y.mul(xhat).sum({0}) : Tensor(), affine_b ? grad_y.sum({0}) : Tensor()};
  }
  Tensor dx = make_tensor({rows, cols}, x.dtype(), x.device());
  Tensor dw = affine_w ? make_tensor({cols}, x.dtype(), x.device()) : Tensor();
  Tensor db = affine_b ? make_tensor({cols}, x.dtype(), x.device()) : Tensor();
  const Tensor dy = grad_y.to(x.dtype()).contiguous();
  const Tensor m = mean.contiguous(), r = rstd.contiguous();
  kernels::LayerNormArgs a = args_of(x, weight, eps);
  a.mean = static_cast<char*>(const_cast<void*>(m.data_ptr()));
  a.rstd = static_cast<char*>(const_cast<void*>(r.data_ptr()));
  a.dy = static_cast<const char*>(dy.data_ptr());
  a.dx = static_cast<char*>(dx.data_ptr());
  a.dgamma = affine_w ? static_cast<char*>(dw.data_ptr()) : nullptr;
  a.dbeta = affine_b ? static_cast<char*>(db.data_ptr()) : nullptr;
  internal::table(x, "layer_norm backward").layer_norm_backward(a);
  return {dx, dw, db};
}

}  // namespace internal
}  // namespace fulgur
