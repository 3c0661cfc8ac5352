// Shared input handling of the classification metrics: value checks with torchmetrics'
// messages, the probabilities-or-logits rule, and bincount.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/tensor/tensor.h"

namespace fulgur::metrics::detail {

// The distinct values of t, printed as PyTorch prints torch.unique(t): "tensor([0, 1, 2])".
std::string unique_str(const Tensor& t);

// torchmetrics' _check_same_shape (RuntimeError there).
void check_same_shape(const std::string& op, const Tensor& preds, const Tensor& target);

// Throws torchmetrics' "Detected the following values in `target`..." unless every value of
// target is 0, 1 or ignore_index.
void check_binary_target(const std::string& op, const Tensor& target, std::optional<int64_t> ignore_index);
// For integer (label) preds: every value must be 0 or 1.
void check_binary_label_preds(const std::string& op, const Tensor& preds);
// Every value of t in [0, num_classes) or equal to ignore_index. `what` is "target"/"preds".
void check_class_values(const std::string& op, const Tensor& t, int64_t num_classes,
                        std::optional<int64_t> ignore_index, const char* what);

// torchmetrics' rule for floating preds: values all inside [0, 1] are probabilities, anything
// else (a value outside, or a NaN) means logits, which go through sigmoid. Decided per call.
Tensor sigmoid_if_logits(const Tensor& preds);

// torch.bincount(x, minlength=n) for int64 x with values in [0, n): int64 counts of length n.
Tensor bincount(const Tensor& x, int64_t n);

// torchmetrics' _safe_divide: num / denom as floating point, zero_division where denom == 0.
Tensor safe_divide(const Tensor& num, const Tensor& denom, double zero_division = 0.0);

}  // namespace fulgur::metrics::detail
