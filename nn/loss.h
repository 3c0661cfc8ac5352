// Loss modules (torch.nn.*Loss): forward(input, target) calls the F:: loss of the same name
// with the module's options (nn/functional/loss.h). Class weights and pos_weight are
// registered as buffers "weight" / "pos_weight" (as PyTorch), so they follow to().
//
//   nn::CrossEntropyLoss criterion({.label_smoothing = 0.1});
//   Tensor loss = criterion(logits, targets);
#pragma once

#include "fulgur/nn/functional/loss.h"
#include "fulgur/nn/module.h"

namespace fulgur::nn {

// Base of the loss modules: two-input forward and call.
class Loss : public Module {
 public:
  using Module::forward;
  using Module::operator();
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
};

#define FULGUR_NN_LOSS(Name, Options)                                      \
  class Name : public Loss {                                               \
   public:                                                                 \
    explicit Name(const Options& options = {});                            \
    using Loss::forward;                                                   \
    Tensor forward(const Tensor& input, const Tensor& target) override;    \
    std::string name() const override { return #Name; }                    \
    Options options;                                                       \
  };

FULGUR_NN_LOSS(CrossEntropyLoss, CrossEntropyLossOptions)
FULGUR_NN_LOSS(NLLLoss, NLLLossOptions)
FULGUR_NN_LOSS(MSELoss, MSELossOptions)
FULGUR_NN_LOSS(L1Loss, L1LossOptions)
FULGUR_NN_LOSS(SmoothL1Loss, SmoothL1LossOptions)
FULGUR_NN_LOSS(BCELoss, BCELossOptions)
FULGUR_NN_LOSS(BCEWithLogitsLoss, BCEWithLogitsLossOptions)
FULGUR_NN_LOSS(KLDivLoss, KLDivLossOptions)

#undef FULGUR_NN_LOSS

}  // namespace fulgur::nn
