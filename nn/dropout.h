// Dropout (torch.nn.Dropout): F::dropout in training mode, the identity in eval mode.
#pragma once

#include "fulgur/nn/module.h"
#include "fulgur/tensor/generator.h"

namespace fulgur::nn {

struct DropoutOptions {
  double p = 0.5;
  bool inplace = false;
  Generator* generator = nullptr;  // null: the default generator
};

// `nn::Dropout()`, `nn::Dropout(0.2)`, `nn::Dropout({.p = 0.2})`.
class Dropout : public Module {
 public:
  explicit Dropout(const DropoutOptions& options = {});
  explicit Dropout(double p) : Dropout(DropoutOptions{.p = p}) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p;
  bool inplace;
  Generator* generator;
};

}  // namespace fulgur::nn
