#include "fulgur/nn/loss.h"

namespace fulgur::nn {

namespace F = functional;

namespace {
// Registers an optional tensor as a buffer and returns the registered handle (the same
// tensor, so that to() moves what forward uses).
Tensor buffer_or_none(Module& m, const char* name, const Tensor& t) {
  return m.register_buffer(name, t.defined() ? t.detach() : Tensor());
}
}  // namespace

CrossEntropyLoss::CrossEntropyLoss(const CrossEntropyLossOptions& o) : options(o) {
  options.weight = buffer_or_none(*this, "weight", o.weight);
}
Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) {
  return F::cross_entropy(input, target, options);
}

NLLLoss::NLLLoss(const NLLLossOptions& o) : options(o) { options.weight = buffer_or_none(*this, "weight", o.weight); }
Tensor NLLLoss::forward(const Tensor& input, const Tensor& target) { return F::nll_loss(input, target, options); }

MSELoss::MSELoss(const MSELossOptions& o) : options(o) {}
Tensor MSELoss::forward(const Tensor& input, const Tensor& target) { return F::mse_loss(input, target, options); }

L1Loss::L1Loss(const L1LossOptions& o) : options(o) {}
Tensor L1Loss::forward(const Tensor& input, const Tensor& target) { return F::l1_loss(input, target, options); }

SmoothL1Loss::SmoothL1Loss(const SmoothL1LossOptions& o) : options(o) {}
Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return F::smooth_l1_loss(input, target, options);
}

BCELoss::BCELoss(const BCELossOptions& o) : options(o) { options.weight = buffer_or_none(*this, "weight", o.weight); }
Tensor BCELoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy(input, target, options);
}

BCEWithLogitsLoss::BCEWithLogitsLoss(const BCEWithLogitsLossOptions& o) : options(o) {
  options.weight = buffer_or_none(*this, "weight", o.weight);
  options.pos_weight = buffer_or_none(*this, "pos_weight", o.pos_weight);
}
Tensor BCEWithLogitsLoss::forward(const Tensor& input, const Tensor& target) {
  return F::binary_cross_entropy_with_logits(input, target, options);
}

KLDivLoss::KLDivLoss(const KLDivLossOptions& o) : options(o) {}
Tensor KLDivLoss::forward(const Tensor& input, const Tensor& target) { return F::kl_div(input, target, options); }

}  // namespace fulgur::nn
