// Group normalisation (torch.nn.GroupNorm).
//
//   nn::GroupNorm(4, 32)   // GroupNorm(4, 32, eps=1e-05, affine=True)
//
// Input [N, C, *]; parameters weight (ones) and bias (zeros) [num_channels] when affine.
#pragma once

#include <cstdint>

#include "fulgur/nn/module.h"

namespace fulgur::nn {

struct GroupNormOptions {
  double eps = 1e-5;
  bool affine = true;
  DType dtype = DType::Float32;
  Device device = kCPU;
};

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, const GroupNormOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t num_groups;
  int64_t num_channels;
  double eps;
  bool affine;
  Tensor weight, bias;  // undefined without affine
};

}  // namespace fulgur::nn
