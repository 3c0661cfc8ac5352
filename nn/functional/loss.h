// F:: losses (torch.nn.functional), PyTorch 1.13 semantics. `reduction` is "mean" (the
// default), "sum" or "none" (kl_div also takes "batchmean"). Options are shared with the
// module forms in nn/loss.h: `F::cross_entropy(logits, y, {.label_smoothing = 0.1})`.
#pragma once

#include <cstdint>
#include <string>

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn {

struct NLLLossOptions {
  Tensor weight = Tensor();  // [C] per-class weight, or undefined
  int64_t ignore_index = -100;
  std::string reduction = "mean";
};

struct CrossEntropyLossOptions {
  Tensor weight = Tensor();  // [C] per-class weight, or undefined
  int64_t ignore_index = -100;  // class-index targets only
  std::string reduction = "mean";
  double label_smoothing = 0.0;  // in [0, 1]
};

struct MSELossOptions {
  std::string reduction = "mean";
};

struct L1LossOptions {
  std::string reduction = "mean";
};

struct SmoothL1LossOptions {
  std::string reduction = "mean";
  double beta = 1.0;  // >= 0; 0 is L1
};

struct BCELossOptions {
  Tensor weight = Tensor();  // broadcast to the input
  std::string reduction = "mean";
};

struct BCEWithLogitsLossOptions {
  Tensor weight = Tensor();      // broadcast to the input
  Tensor pos_weight = Tensor();  // weight of positive examples, broadcast along the last dim
  std::string reduction = "mean";
};

struct KLDivLossOptions {
  std::string reduction = "mean";  // also "batchmean": sum / batch size (the KL divergence)
  bool log_target = false;
};

}  // namespace fulgur::nn

namespace fulgur::nn::functional {

// input: logits [N, C], [C] or [N, C, d1, ...]. target: class indices (int64/int32) [N],
// [] or [N, d1, ...]; or class probabilities (floating) of input's shape.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyLossOptions& options = {});
// input: log-probabilities, shapes as cross_entropy; target: class indices. "mean" divides
// by the summed weight of the targets that are not ignored.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& options = {});
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& options = {});
// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options = {});
// input: probabilities in [0, 1], target of the same shape; logs clamped at -100 as PyTorch.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& options = {});
// Sigmoid + BCE in the numerically stable form (no overflow for any logit).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options = {});
// input: log-probabilities; target: probabilities (or log-probabilities if log_target).
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options = {});

// "none" -> loss, "mean" -> loss.mean(), "sum" -> loss.sum(); anything else throws.
Tensor apply_reduction(const Tensor& loss, const std::string& reduction, const char* op);

}  // namespace fulgur::nn::functional
