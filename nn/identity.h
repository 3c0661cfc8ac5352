// Identity (torch.nn.Identity): returns its input (the same tensor).
#pragma once

#include "fulgur/nn/module.h"

namespace fulgur::nn {

class Identity : public Module {
 public:
  Identity() = default;
  Tensor forward(const Tensor& x) override { return x; }
  std::string name() const override { return "Identity"; }
};

}  // namespace fulgur::nn
