// Finite-difference check of gradients (torch.autograd.gradcheck): central differences in
// float64 against the Jacobian autograd computes, row by row with autograd::grad.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  // Also check second derivatives: the gradient of (sum of grad_outputs . d outputs / d inputs)
  // taken with create_graph.
  bool check_second_order = false;
};

using Function = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// Throws fulgur::Error naming the input, element and both derivatives at the first
// mismatch; returns true otherwise. Inputs that require grad must be float64.
bool gradcheck(const Function& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});
// For functions of one output.
bool gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
               const GradcheckOptions& options = {});

}  // namespace fulgur::autograd
