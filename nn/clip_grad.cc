#include "fulgur/nn/clip_grad.h"

#include <cmath>

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn::utils {

namespace {
std::vector<Tensor> grads_of(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  return grads;
}
}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  NoGradGuard no_grad;
  const std::vector<Tensor> grads = grads_of(parameters);
  if (grads.empty()) return scalar_tensor(0.0);
  const Device device = grads[0].device();
  std::vector<Tensor> norms;
  norms.reserve(grads.size());
  for (const Tensor& g : grads) {
    const Tensor gd = g.detach();
    norms.push_back((std::isinf(norm_type) ? gd.abs().max() : gd.norm(norm_type)).to(device));
  }
  Tensor total;
  if (std::isinf(norm_type)) {
    total = norms.size() == 1 ? norms[0] : stack(norms).max();
  } else {
    total = stack(norms).norm(norm_type);
  }
  if (error_if_nonfinite) {
    const double v = total.item<double>();
    FULGUR_CHECK(std::isfinite(v), "clip_grad_norm_", "The total norm of order ", norm_type,
                 " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this "
                 "error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`");
  }
  const Tensor coef = (Scalar(max_norm) / total.add(1e-6)).clamp(std::nullopt, Scalar(1.0));
  for (const Tensor& g : grads) {
    Tensor gd = g.detach();
    gd.mul_(coef.to(g.device()).to(g.dtype()));
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& g : grads_of(parameters)) {
    Tensor gd = g.detach();
    gd.clamp_(-clip_value, clip_value);
  }
}

}  // namespace fulgur::nn::utils
