#include "fulgur/nn/groupnorm.h"

#include "fulgur/nn/functional/normalization.h"
#include "fulgur/nn/init.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn {

GroupNorm::GroupNorm(int64_t groups, int64_t channels, const GroupNormOptions& o)
    : num_groups(groups), num_channels(channels), eps(o.eps), affine(o.affine) {
  FULGUR_CHECK(groups > 0 && channels >= 0, "GroupNorm", "num_groups must be positive and num_channels "
               "non-negative, got ", groups, " and ", channels);
  FULGUR_CHECK(channels % groups == 0, "GroupNorm", "num_channels must be divisible by num_groups");
  FULGUR_CHECK(is_floating(o.dtype), "GroupNorm", "parameters must be floating point, got dtype ", o.dtype);
  const TensorOptions f{.dtype = o.dtype, .device = o.device};
  weight = register_parameter("weight", affine ? empty({channels}, f) : Tensor());
  bias = register_parameter("bias", affine ? empty({channels}, f) : Tensor());
  reset_parameters();
}

void GroupNorm::reset_parameters() {
  if (!affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNorm::forward(const Tensor& x) { return functional::group_norm(x, num_groups, weight, bias, eps); }

std::string GroupNorm::extra_repr() const {
  return std::to_string(num_groups) + ", " + std::to_string(num_channels) + ", eps=" + repr_float(eps) +
         ", affine=" + repr_bool(affine);
}

}  // namespace fulgur::nn
