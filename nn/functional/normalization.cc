#include "fulgur/nn/functional/normalization.h"

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/fused_batch_norm.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur::nn::functional {
namespace {

// [C] -> [1, C, 1, ...] for an input of `ndim` dims.
Tensor per_channel(const Tensor& t, int64_t ndim) {
  Shape shape(static_cast<size_t>(ndim), 1);
  shape[1] = t.size(0);
  return t.view(shape);
}

void check_channel_vector(const Tensor& t, int64_t channels, const char* what, const char* op) {
  if (!t.defined()) return;
  FULGUR_CHECK(t.dim() == 1 && t.size(0) == channels, op, what, " should contain ", channels,
               " elements not ", t.numel(), " (shape ", shape_str(t.sizes()), ")");
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  // autocast's float32 list; the running statistics are updated in place and keep their dtype.
  if (is_autocast_enabled(input.device().type) && autocast::to_fp32(input).dtype() != input.dtype()) {
    return batch_norm(autocast::to_fp32(input), running_mean, running_var, autocast::to_fp32(weight),
                      autocast::to_fp32(bias), training, momentum, eps);
  }
  const char* op = "batch_norm";
  FULGUR_CHECK(input.dim() >= 2, op, "expected an input of at least 2 dims [N, C, *], got shape ",
               shape_str(input.sizes()));
  FULGUR_CHECK(input.is_floating_point(), op, "expected a floating-point input, got ", input.dtype());
  const int64_t C = input.size(1), nd = input.dim();
  check_channel_vector(running_mean, C, "running_mean", op);
  check_channel_vector(running_var, C, "running_var", op);
  check_channel_vector(weight, C, "weight", op);
  check_channel_vector(bias, C, "bias", op);
  Shape dims{0};
  for (int64_t d = 2; d < nd; ++d) dims.push_back(d);
  const int64_t count = C > 0 ? input.numel() / C : 0;
  TracedComposite trace;  // an exporter sees one "batch_norm" (BatchNormalization)
  Tensor out;
  if (training) {
    FULGUR_CHECK(count > 1, op, "Expected more than 1 value per channel when training, got input size ",
                 shape_str(input.sizes()));
    // One fused op where the device has it (cuDNN on a GPU; tensor/fused_batch_norm.h); not
    // while tracing, where the exporter records this function as one BatchNormalization.
    if (!trace.active() && has_fused_batch_norm(input, running_mean, running_var, weight, bias))
      return fused_batch_norm(input, weight, bias, running_mean, running_var, momentum, eps);
    const Tensor mean = input.mean(dims, /*keepdim=*/true);
    const Tensor centered = input.sub(mean);
    const Tensor var = centered.square().mean(dims, /*keepdim=*/true);  // biased
    out = centered.mul(var.add(eps).rsqrt());
    if (running_mean.defined() || running_var.defined()) {
      NoGradGuard no_grad;
      if (running_mean.defined()) {
        const Tensor m = mean.detach().reshape({C}).to(running_mean.dtype());
        Tensor rm = running_mean;
        rm.mul_(1.0 - momentum).add_(m, momentum);
      }
      if (running_var.defined()) {
        const double bessel = static_cast<double>(count) / static_cast<double>(count - 1);
        const Tensor v = var.detach().reshape({C}).mul(bessel).to(running_var.dtype());
        Tensor rv = running_var;
        rv.mul_(1.0 - momentum).add_(v, momentum);
      }
    }
  } else {
    FULGUR_CHECK(running_mean.defined() && running_var.defined(), op,
                 "running_mean and running_var must be defined in evaluation mode");
    const Tensor rm = per_channel(running_mean.to(input.dtype()), nd);
    const Tensor rv = per_channel(running_var.to(input.dtype()), nd);
    out = input.sub(rm).mul(rv.add(eps).rsqrt());
  }
  if (weight.defined()) out = out.mul(per_channel(weight, nd));
  if (bias.defined()) out = out.add(per_channel(bias, nd));
  if (trace.active()) {
    trace.record("batch_norm", {input, weight, bias, running_mean, running_var},
                 {{"epsilon", eps}, {"training", int64_t{training}}}, {out});
  }
  return out;
}

Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  if (is_autocast_enabled(input.device().type) && autocast::to_fp32(input).dtype() != input.dtype())  // float32 list
    return group_norm(autocast::to_fp32(input), num_groups, autocast::to_fp32(weight), autocast::to_fp32(bias), eps);
  const char* op = "group_norm";
  FULGUR_CHECK(input.dim() >= 2, op, "Expected at least 2 dimensions for input tensor but received ", input.dim());
  FULGUR_CHECK(input.is_floating_point(), op, "expected a floating-point input, got ", input.dtype());
  const int64_t N = input.size(0), C = input.size(1);
  FULGUR_CHECK(num_groups > 0 && C % num_groups == 0, op,
               "Expected number of channels in input to be divisible by num_groups, but got input of shape ",
               shape_str(input.sizes()), " and num_groups=", num_groups);
  check_channel_vector(weight, C, "weight", op);
  check_channel_vector(bias, C, "bias", op);
  int64_t per_group = C / num_groups;  // values per (sample, group)
  for (int64_t d = 2; d < input.dim(); ++d) per_group *= input.size(d);
  const Tensor x = input.reshape({N, num_groups, per_group});
  const Tensor mean = x.mean({2}, /*keepdim=*/true);
  const Tensor centered = x.sub(mean);
  const Tensor var = centered.square().mean({2}, /*keepdim=*/true);
  Tensor out = centered.mul(var.add(eps).rsqrt()).view(input.sizes());
  if (weight.defined()) out = out.mul(per_channel(weight, input.dim()));
  if (bias.defined()) out = out.add(per_channel(bias, input.dim()));
  return out;
}

}  // namespace fulgur::nn::functional
