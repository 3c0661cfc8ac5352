// F::dropout (torch.nn.functional.dropout).
#pragma once

#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

// In training, zeroes each element with probability p (Bernoulli draws from `generator`, the
// default generator when null) and scales the rest by 1 / (1 - p); otherwise returns x.
// p == 1 gives zeros. inplace writes the result into x.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, bool inplace = false,
               Generator* generator = nullptr);

}  // namespace fulgur::nn::functional
