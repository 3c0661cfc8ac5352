#include "fulgur/nn/functional/linear.h"

#include "fulgur/tensor/ops.h"

namespace fulgur::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return fulgur::linear(x, weight, bias);
}

Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias) {
  FULGUR_CHECK(weight.dim() == 3, "bilinear", "weight must be 3-D [out, in1, in2], got ",
               shape_str(weight.sizes()));
  FULGUR_CHECK(x1.dim() >= 1 && x2.dim() == x1.dim(), "bilinear",
               "input1 and input2 must have the same number of dimensions (>= 1), got ",
               shape_str(x1.sizes()), " and ", shape_str(x2.sizes()));
  FULGUR_CHECK(IntArrayRef(x1.sizes().data(), x1.dim() - 1) == IntArrayRef(x2.sizes().data(), x2.dim() - 1),
               "bilinear", "input1 and input2 must have the same batch dimensions, got ",
               shape_str(x1.sizes()), " and ", shape_str(x2.sizes()));
  const int64_t out = weight.size(0), in1 = weight.size(1), in2 = weight.size(2);
  FULGUR_CHECK(x1.size(-1) == in1, "bilinear", "input1 of shape ", shape_str(x1.sizes()),
               " does not end in in1_features = ", in1, " (weight ", shape_str(weight.sizes()), ")");
  FULGUR_CHECK(x2.size(-1) == in2, "bilinear", "input2 of shape ", shape_str(x2.sizes()),
               " does not end in in2_features = ", in2, " (weight ", shape_str(weight.sizes()), ")");
  if (bias.defined())
    FULGUR_CHECK(bias.dim() == 1 && bias.size(0) == out, "bilinear", "bias must have shape [", out,
                 "], got ", shape_str(bias.sizes()));
  Shape batch(x1.sizes().begin(), x1.sizes().end() - 1);
  const Tensor a = x1.reshape({-1, in1});
  const Tensor b = x2.reshape({-1, in2});
  // [N, in1] @ [in1, out * in2] -> [N, out, in2], then contract in2 against x2.
  const Tensor w = weight.permute({1, 0, 2}).reshape({in1, out * in2});
  Tensor y = a.matmul(w).view({-1, out, in2}).mul(b.unsqueeze(1)).sum({2});
  if (bias.defined()) y = y.add(bias);
  batch.push_back(out);
  return y.reshape(batch);
}

}  // namespace fulgur::nn::functional
