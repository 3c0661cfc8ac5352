// Linear and Bilinear layers (torch.nn.Linear, torch.nn.Bilinear).
#pragma once

#include <cstdint>

#include "fulgur/nn/module.h"

namespace fulgur::nn {

struct LinearOptions {
  bool bias = true;
  DType dtype = DType::Float32;
  Device device = kCPU;
};

// y = x @ weight^T + bias. weight [out_features, in_features] ~ kaiming_uniform_(a = sqrt(5))
// = U(-1/sqrt(in), 1/sqrt(in)); bias [out_features] ~ U(-1/sqrt(in), 1/sqrt(in)).
// `nn::Linear(784, 128)`, `nn::Linear(784, 128, {.bias = false})`.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, const LinearOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;
  // Draws the default initialisation again (from the default generator).
  void reset_parameters();

  int64_t in_features;
  int64_t out_features;
  Tensor weight;
  Tensor bias;  // undefined with {.bias = false}
};

// y[*, o] = x1[*, :] @ weight[o] @ x2[*, :] + bias[o]. weight [out, in1, in2] and bias [out]
// ~ U(-1/sqrt(in1), 1/sqrt(in1)).
class Bilinear : public Module {
 public:
  Bilinear(int64_t in1_features, int64_t in2_features, int64_t out_features, const LinearOptions& options = {});
  using Module::forward;
  using Module::operator();
  Tensor forward(const Tensor& x1, const Tensor& x2);
  Tensor operator()(const Tensor& x1, const Tensor& x2) { return forward(x1, x2); }
  std::string name() const override { return "Bilinear"; }
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t in1_features;
  int64_t in2_features;
  int64_t out_features;
  Tensor weight;
  Tensor bias;
};

}  // namespace fulgur::nn
