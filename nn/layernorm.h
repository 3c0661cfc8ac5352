// LayerNorm (torch.nn.LayerNorm): normalises over the last dims (normalized_shape).
#pragma once

#include <cstdint>

#include "fulgur/nn/module.h"

namespace fulgur::nn {

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;  // learnable weight (ones) and bias (zeros) of normalized_shape
  DType dtype = DType::Float32;
  Device device = kCPU;
};

// `nn::LayerNorm(512)`, `nn::LayerNorm({8, 8}, {.eps = 1e-6})`.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, const LayerNormOptions& options = {});
  explicit LayerNorm(int64_t normalized_shape, const LayerNormOptions& options = {})
      : LayerNorm(Shape{normalized_shape}, options) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  void reset_parameters();

  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight;  // undefined without elementwise_affine
  Tensor bias;
};

}  // namespace fulgur::nn
