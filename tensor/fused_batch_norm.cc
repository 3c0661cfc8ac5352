#include "fulgur/tensor/fused_batch_norm.h"

#include "fulgur/kernels/error.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/tensor/algorithm_flags.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

constexpr const char* kOp = "batch_norm";

DType stats_dtype(const Tensor& x) { return x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32; }

// Undefined, or a contiguous [C] of x's statistics dtype on x's device.
bool fits(const Tensor& p, const Tensor& x) {
  return !p.defined() || (p.dim() == 1 && p.size(0) == x.size(1) && p.dtype() == stats_dtype(x) &&
                          p.device() == x.device() && p.is_contiguous());
}

char* data_of(const Tensor& t) { return t.defined() ? static_cast<char*>(const_cast<void*>(t.data_ptr())) : nullptr; }

// The sizes both directions share: x [N, C, *] seen as [N, C, S].
kernels::BatchNormArgs sizes_of(const Tensor& x, double eps) {
  kernels::BatchNormArgs a;
  a.dtype = x.dtype();
  a.batch = x.size(0);
  a.channels = x.size(1);
  a.spatial = x.numel() / (a.batch * a.channels);
  a.eps = eps;
  return a;
}

}  // namespace

bool has_fused_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                          const Tensor& weight, const Tensor& bias) {
  const kernels::KernelTable& t = kernels::kernels_for(x.device().type);
  if (!t.batch_norm_forward || !t.batch_norm_backward || !t.supports_batch_norm) return false;
  if (!cudnn_enabled() || x.dim() < 2 || x.numel() == 0 || !x.is_floating_point()) return false;
  if (running_mean.defined() != running_var.defined()) return false;
  for (const Tensor* p : {&running_mean, &running_var, &weight, &bias})
    if (!fits(*p, x)) return false;
  kernels::BatchNormArgs a = sizes_of(x, 1e-5);
  a.x = data_of(x);
  return t.supports_batch_norm(a);
}

Tensor fused_batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, double momentum, double eps) {
  FULGUR_CHECK(has_fused_batch_norm(input, running_mean, running_var, weight, bias), kOp,
               "internal: no fused batch norm for ", shape_str(input.sizes()), " ", input.dtype(), " on ",
               input.device());
  const Tensor x = input.contiguous();  // [N, C, *] in memory as [N, C, S]: no view node after
  const int64_t C = x.size(1);
  const TensorOptions stats{.dtype = stats_dtype(x), .device = x.device()};
  // cuDNN always scales and shifts: ones and zeros stand for "none" (they take no gradient).
  const Tensor w = weight.defined() ? weight : ones({C}, stats);
  const Tensor b = bias.defined() ? bias : zeros({C}, stats);
  OpAttrs attrs;
  attrs.scalar = eps;
  return record_op(OpId::BatchNorm, {x, w, b}, attrs, [&] {
    Tensor out = make_tensor(x.sizes(), x.dtype(), x.device());
    Tensor mean = make_tensor({C}, *stats.dtype, x.device());
    Tensor invstd = make_tensor({C}, *stats.dtype, x.device());
    kernels::BatchNormArgs a = sizes_of(x, eps);
    a.x = data_of(x);
    a.momentum = momentum;
    a.weight = data_of(w);
    a.bias = data_of(b);
    a.running_mean = data_of(running_mean);
    a.running_var = data_of(running_var);
    a.save_mean = data_of(mean);
    a.save_invstd = data_of(invstd);
    a.y = data_of(out);
    internal::table(x, kOp).batch_norm_forward(a);
    // The kernel wrote the running statistics in place: their versions move, as mul_/add_'s do.
    if (running_mean.defined()) running_mean.bump_version();
    if (running_var.defined()) running_var.bump_version();
    return std::vector<Tensor>{out, mean, invstd};
  })[0];
}

namespace internal {

std::vector<Tensor> fused_batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                              const Tensor& save_invstd, const Tensor& grad_y, double eps,
                                              bool need_dx, bool need_dweight, bool need_dbias) {
  const int64_t N = x.size(0), C = x.size(1);
  if (grad_mode_enabled()) {
    // create_graph, on [N, C, S] views: xhat = (x - mu) * invstd, dxhat = dy * w,
    // dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dw = sum(dy * xhat), db = sum(dy),
    // means and sums over dims 0 and 2.
    const Tensor x3 = x.reshape({N, C, -1});
    const Tensor mu = x3.mean({0, 2}, true);
    const Tensor centered = x3.sub(mu);
    const Tensor invstd = centered.square().mean({0, 2}, true).add(eps).rsqrt();
    const Tensor xhat = centered.mul(invstd);
    const Tensor dy = grad_y.to(x.dtype()).reshape({N, C, -1});
    Tensor dx, dw, db;
    if (need_dx) {
      const Tensor dxhat = dy.mul(weight.view({1, C, 1}).to(x.dtype()));
      dx = dxhat.sub(dxhat.mean({0, 2}, true))
               .sub(xhat.mul(dxhat.mul(xhat).mean({0, 2}, true)))
               .mul(invstd)
               .reshape(x.sizes());
    }
    if (need_dweight) dw = dy.mul(xhat).sum({0, 2}).to(weight.dtype());
    if (need_dbias) db = dy.sum({0, 2}).to(weight.dtype());
    return {dx, dw, db};
  }
  const Tensor dy = grad_y.to(x.dtype()).contiguous();
  Tensor dx = make_tensor(x.sizes(), x.dtype(), x.device());
  Tensor dw = make_tensor({C}, weight.dtype(), x.device());
  Tensor db = make_tensor({C}, weight.dtype(), x.device());
  kernels::BatchNormArgs a = sizes_of(x, eps);
  a.x = data_of(x);
  a.weight = data_of(weight);
  a.save_mean = data_of(save_mean);
  a.save_invstd = data_of(save_invstd);
  a.dy = data_of(dy);
  a.dx = data_of(dx);
  a.dweight = data_of(dw);
  a.dbias = data_of(db);
  internal::table(x, "batch_norm backward").batch_norm_backward(a);  // all three in one launch
  return {need_dx ? dx : Tensor(), need_dweight ? dw : Tensor(), need_dbias ? db : Tensor()};
}

}  // namespace internal
}  // namespace fulgur
