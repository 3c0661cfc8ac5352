#include "fulgur/nn/functional/layer_norm.h"

#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/fused_layer_norm.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur::nn::functional {

Tensor layer_norm(const Tensor& x, IntArrayRef normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  if (is_autocast_enabled(x.device().type)) {  // autocast's float32 list (see tensor/autocast.h)
    const Tensor xf = autocast::to_fp32(x), wf = autocast::to_fp32(weight), bf = autocast::to_fp32(bias);
    if (xf.dtype() != x.dtype() || (weight.defined() && wf.dtype() != weight.dtype()) ||
        (bias.defined() && bf.dtype() != bias.dtype()))
      return layer_norm(xf, normalized_shape, wf, bf, eps);
  }
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  FULGUR_CHECK(k >= 1, "layer_norm", "normalized_shape must have at least one dimension");
  FULGUR_CHECK(x.is_floating_point(), "layer_norm", "expected a floating-point input, got ", x.dtype());
  const bool ok = x.dim() >= k && IntArrayRef(x.sizes().data() + (x.dim() - k), k) == normalized_shape;
  FULGUR_CHECK(ok, "layer_norm", "Given normalized_shape=", shape_str(normalized_shape),
               ", expected input with shape [*, ", shape_str(normalized_shape).substr(1),
               ", but got input of size ", shape_str(x.sizes()));
  if (weight.defined())
    FULGUR_CHECK(weight.sizes() == normalized_shape, "layer_norm", "weight of shape ",
                 shape_str(weight.sizes()), " does not match normalized_shape ", shape_str(normalized_shape));
  if (bias.defined())
    FULGUR_CHECK(bias.sizes() == normalized_shape, "layer_norm", "bias of shape ", shape_str(bias.sizes()),
                 " does not match normalized_shape ", shape_str(normalized_shape));
  // One fused kernel each way where the device has it (tensor/fused_layer_norm.h); not while
  // tracing, where the exporter records this function as one LayerNormalization instead.
  const auto same_kind = [&](const Tensor& p) {
    return !p.defined() || (p.dtype() == x.dtype() && p.device() == x.device());
  };
  if (!tracing_active() && x.numel() > 0 && same_kind(weight) && same_kind(bias) && has_fused_layer_norm(x)) {
    const int64_t cols = numel_of(normalized_shape);
    return fused_layer_norm(x.reshape({-1, cols}), weight, bias, eps).reshape(x.sizes());
  }
  TracedComposite trace;  // an exporter sees one "layer_norm" (LayerNormalization)
  Shape dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  const Tensor mean = x.mean(dims, true);
  const Tensor centered = x.sub(mean);
  const Tensor var = centered.square().mean(dims, true);
  Tensor y = centered.mul(var.add(eps).rsqrt());
  if (weight.defined()) y = y.mul(weight);
  if (bias.defined()) y = y.add(bias);
  if (trace.active()) trace.record("layer_norm", {x, weight, bias}, {{"axis", x.dim() - k}, {"epsilon", eps}}, {y});
  return y;
}

}  // namespace fulgur::nn::functional
