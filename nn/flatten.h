// Flatten and Unflatten (torch.nn.Flatten, torch.nn.Unflatten).
#pragma once

#include <cstdint>

#include "fulgur/nn/module.h"

namespace fulgur::nn {

// x.flatten(start_dim, end_dim) (a view when possible).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;
  int64_t start_dim;
  int64_t end_dim;
};

// Splits dim into unflattened_size (one entry may be -1): `nn::Unflatten(1, {2, 5})`.
class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, Shape unflattened_size);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Unflatten"; }
  std::string extra_repr() const override;
  int64_t dim;
  Shape unflattened_size;
};

}  // namespace fulgur::nn
