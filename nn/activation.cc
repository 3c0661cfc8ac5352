#include "fulgur/nn/activation.h"

#include "fulgur/nn/functional/activation.h"

namespace fulgur::nn {

namespace F = functional;

Tensor ReLU::forward(const Tensor& x) { return F::relu(x, inplace); }

Tensor LeakyReLU::forward(const Tensor& x) { return F::leaky_relu(x, negative_slope, inplace); }
std::string LeakyReLU::extra_repr() const {
  return "negative_slope=" + repr_float(negative_slope) + (inplace ? ", inplace=True" : "");
}

GELU::GELU(const GELUOptions& options) : approximate(options.approximate) {
  FULGUR_CHECK(approximate == "none" || approximate == "tanh", "GELU",
               "approximate argument must be either none or tanh, got '", approximate, "'");
}
Tensor GELU::forward(const Tensor& x) { return F::gelu(x, approximate); }

Tensor SiLU::forward(const Tensor& x) { return F::silu(x, inplace); }
Tensor Tanh::forward(const Tensor& x) { return F::tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return F::sigmoid(x); }

Tensor Softmax::forward(const Tensor& x) { return F::softmax(x, dim ? *dim : F::implicit_softmax_dim(x.dim())); }
std::string Softmax::extra_repr() const { return "dim=" + (dim ? std::to_string(*dim) : std::string("None")); }

Tensor LogSoftmax::forward(const Tensor& x) {
  return F::log_softmax(x, dim ? *dim : F::implicit_softmax_dim(x.dim()));
}
std::string LogSoftmax::extra_repr() const { return "dim=" + (dim ? std::to_string(*dim) : std::string("None")); }

}  // namespace fulgur::nn
