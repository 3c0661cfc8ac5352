// F:: activations (torch.nn.functional): relu, leaky_relu, gelu, silu, tanh, sigmoid,
// softmax, log_softmax. Element-wise ones keep shape and dtype; every one is differentiable
// (built from recorded tensor ops). `inplace` overwrites x (as PyTorch's inplace=True) and
// returns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

Tensor relu(const Tensor& x, bool inplace = false);
// x if x > 0 else negative_slope * x.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01, bool inplace = false);
// approximate: "none" (x * Phi(x), with erf) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor silu(const Tensor& x, bool inplace = false);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
// dtype: cast x first (PyTorch's dtype= argument). dim may be negative.
Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);

// PyTorch's implicit softmax dim (dim=None): 0 for 0-, 1- and 3-D inputs, else 1.
int64_t implicit_softmax_dim(int64_t ndim);

}  // namespace fulgur::nn::functional
