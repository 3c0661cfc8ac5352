#include "fulgur/nn/layernorm.h"

#include "fulgur/nn/functional/layer_norm.h"
#include "fulgur/nn/init.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn {

LayerNorm::LayerNorm(Shape shape, const LayerNormOptions& o)
    : normalized_shape(std::move(shape)), eps(o.eps), elementwise_affine(o.elementwise_affine) {
  FULGUR_CHECK(!normalized_shape.empty(), "LayerNorm", "normalized_shape must have at least one dimension");
  if (elementwise_affine) {
    FULGUR_CHECK(is_floating(o.dtype), "LayerNorm", "parameters must be floating point, got dtype ", o.dtype);
    weight = register_parameter("weight", empty(normalized_shape, {.dtype = o.dtype, .device = o.device}));
    bias = register_parameter("bias", empty(normalized_shape, {.dtype = o.dtype, .device = o.device}));
  } else {
    register_parameter("weight", Tensor());
    register_parameter("bias", Tensor());
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (!elementwise_affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  return functional::layer_norm(x, normalized_shape, weight, bias, eps);
}

std::string LayerNorm::extra_repr() const {
  return repr_tuple(normalized_shape) + ", eps=" + repr_float(eps) +
         ", elementwise_affine=" + repr_bool(elementwise_affine);
}

}  // namespace fulgur::nn
