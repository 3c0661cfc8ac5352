#include "fulgur/nn/functional/activation.h"

#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn::functional {

Tensor relu(const Tensor& x, bool inplace) {
  if (!inplace) return x.relu();
  Tensor y = x;
  y.relu_();
  return y;
}

Tensor leaky_relu(const Tensor& x, double negative_slope, bool inplace) {
  FULGUR_CHECK(x.is_floating_point(), "leaky_relu", "expected a floating-point input, got ", x.dtype());
  // inplace: computed from a clone, so that the backward never reads the overwritten x.
  const Tensor src = inplace ? x.clone() : x;
  Tensor out = where(src.gt(0), src, src.mul(negative_slope));
  if (!inplace) return out;
  Tensor y = x;
  y.copy_(out);
  return y;
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  FULGUR_CHECK(approximate == "none" || approximate == "tanh", "gelu",
               "approximate argument must be either none or tanh, got '", approximate, "'");
  return x.gelu(approximate == "tanh");
}

Tensor silu(const Tensor& x, bool inplace) {
  if (!inplace) return x.silu();
  Tensor y = x;
  y.copy_(x.clone().silu());
  return y;
}

Tensor tanh(const Tensor& x) { return x.tanh(); }
Tensor sigmoid(const Tensor& x) { return x.sigmoid(); }

Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  // autocast's float32 list: the lower-precision input is cast (an explicit dtype wins).
  return (dtype ? x.to(*dtype) : autocast::to_fp32(x)).softmax(dim);
}

Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return (dtype ? x.to(*dtype) : autocast::to_fp32(x)).log_softmax(dim);
}

int64_t implicit_softmax_dim(int64_t ndim) { return (ndim == 0 || ndim == 1 || ndim == 3) ? 0 : 1; }

}  // namespace fulgur::nn::functional
