#include "fulgur/nn/linear.h"

#include <cmath>

#include "fulgur/nn/functional/linear.h"
#include "fulgur/nn/init.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn {

Linear::Linear(int64_t in, int64_t out, const LinearOptions& o) : in_features(in), out_features(out) {
  FULGUR_CHECK(in >= 0 && out >= 0, "Linear", "in_features and out_features must be non-negative, got ", in,
               " and ", out);
  FULGUR_CHECK(is_floating(o.dtype), "Linear", "parameters must be floating point, got dtype ", o.dtype);
  weight = register_parameter("weight", empty({out, in}, {.dtype = o.dtype, .device = o.device}));
  bias = register_parameter("bias", o.bias ? empty({out}, {.dtype = o.dtype, .device = o.device}) : Tensor());
  reset_parameters();
}

void Linear::reset_parameters() {
  // kaiming_uniform_(a = sqrt(5)): bound = sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in).
  init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)});
  if (bias.defined()) {
    const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return functional::linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + repr_bool(bias.defined());
}

Bilinear::Bilinear(int64_t in1, int64_t in2, int64_t out, const LinearOptions& o)
    : in1_features(in1), in2_features(in2), out_features(out) {
  FULGUR_CHECK(in1 >= 0 && in2 >= 0 && out >= 0, "Bilinear", "feature counts must be non-negative, got ", in1,
               ", ", in2, ", ", out);
  FULGUR_CHECK(is_floating(o.dtype), "Bilinear", "parameters must be floating point, got dtype ", o.dtype);
  weight = register_parameter("weight", empty({out, in1, in2}, {.dtype = o.dtype, .device = o.device}));
  bias = register_parameter("bias", o.bias ? empty({out}, {.dtype = o.dtype, .device = o.device}) : Tensor());
  reset_parameters();
}

void Bilinear::reset_parameters() {
  const double bound = in1_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in1_features)) : 0.0;
  init::uniform_(weight, -bound, bound);
  if (bias.defined()) init::uniform_(bias, -bound, bound);
}

Tensor Bilinear::forward(const Tensor& x1, const Tensor& x2) { return functional::bilinear(x1, x2, weight, bias); }

std::string Bilinear::extra_repr() const {
  return "in1_features=" + std::to_string(in1_features) + ", in2_features=" + std::to_string(in2_features) +
         ", out_features=" + std::to_string(out_features) + ", bias=" + repr_bool(bias.defined());
}

}  // namespace fulgur::nn
