// Fused cross-entropy with class-index targets, where the device's kernel table has it (an
// optional family: the CUDA backend, float32). nn::functional::cross_entropy takes this path
// when it can and otherwise composes log_softmax + nll_loss; both give PyTorch's values.
// The fused path keeps O(rows) extra memory (each row's log-sum-exp) instead of the
// [rows, classes] log-probabilities, and its backward writes d(logits) in one pass.
//
//   if (has_fused_cross_entropy(logits)) {
//     auto [loss_rows, row_weight] = fused_cross_entropy(logits, target, weight, -100, 0.1);
//     Tensor mean = loss_rows.sum().div(row_weight.sum());   // reduction="mean"
//   }
#pragma once

#include <cstdint>

#include "fulgur/tensor/tensor.h"

namespace fulgur {

// Whether logits' device and dtype have the fused kernels.
bool has_fused_cross_entropy(const Tensor& logits);

struct FusedCrossEntropy {
  Tensor loss;        // [rows]: weighted per-row loss, label smoothing included; 0 for ignored rows
  Tensor row_weight;  // [rows]: the weight of each row's target (0 when ignored)
};

// logits [rows, classes] (any layout; a contiguous copy is made when needed), target [rows]
// integral on the same device, weight [classes] or undefined. Differentiable in logits (one
// OpId::CrossEntropy node). A target that is neither a class nor ignore_index throws
// fulgur::Error (the launcher waits for the device to read the kernel's flag).
FusedCrossEntropy fused_cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                      int64_t ignore_index, double label_smoothing);

namespace internal {
// d(logits) of fused_cross_entropy from the saved log-sum-exp and the gradient of each row's
// loss: the fused kernel, or (create_graph: the result must be differentiable again) the same
// formula in tensor ops, (1 - eps) w_t (p - onehot_t) + eps / C (W p - w), p = softmax(x).
Tensor fused_cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                    const Tensor& lse, const Tensor& grad_rows, int64_t ignore_index,
                                    double label_smoothing);
}  // namespace internal

}  // namespace fulgur
