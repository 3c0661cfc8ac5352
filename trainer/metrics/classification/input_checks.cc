#include "fulgur/trainer/metrics/classification/input_checks.h"

#include <set>
#include <vector>

#include "fulgur/tensor/ops.h"

namespace fulgur::metrics::detail {

std::string unique_str(const Tensor& t) {
  const std::vector<double> values = t.to_vector<double>();
  const std::set<double> distinct(values.begin(), values.end());
  return from_vector(std::vector<double>(distinct.begin(), distinct.end())).to(t.dtype()).str();
}

void check_same_shape(const std::string& op, const Tensor& preds, const Tensor& target) {
  FULGUR_CHECK(preds.sizes() == target.sizes(), op.c_str(),
               "Predictions and targets are expected to have the same shape, but got ", shape_str(preds.sizes()),
               " and ", shape_str(target.sizes()), ".");
}

namespace {

// True where t is neither 0 nor 1 (nor ignore_index).
Tensor not_binary(const Tensor& t, std::optional<int64_t> ignore_index) {
  Tensor bad = t.ne(0).logical_and(t.ne(1));
  if (ignore_index) bad = bad.logical_and(t.ne(*ignore_index));
  return bad;
}

}  // namespace

void check_binary_target(const std::string& op, const Tensor& target, std::optional<int64_t> ignore_index) {
  if (target.numel() == 0 || !not_binary(target, ignore_index).any().item<bool>()) return;
  FULGUR_FAIL(op.c_str(), "Detected the following values in `target`: ", unique_str(target),
              " but expected only the following values ",
              ignore_index ? "[0, 1, " + std::to_string(*ignore_index) + "]" : std::string("[0, 1]"),
              ". Hint: targets are class labels 0/1", ignore_index ? " or ignore_index" : "", ".");
}

void check_binary_label_preds(const std::string& op, const Tensor& preds) {
  if (preds.numel() == 0 || !not_binary(preds, std::nullopt).any().item<bool>()) return;
  FULGUR_FAIL(op.c_str(), "Detected the following values in `preds`: ", unique_str(preds),
              " but expected only the following values [0,1] since `preds` is a label tensor.",
              " Hint: pass probabilities or logits as a floating-point tensor.");
}

void check_class_values(const std::string& op, const Tensor& t, int64_t num_classes,
                        std::optional<int64_t> ignore_index, const char* what) {
  if (t.numel() == 0) return;
  Tensor bad = t.lt(0).logical_or(t.ge(num_classes));
  if (ignore_index) bad = bad.logical_and(t.ne(*ignore_index));
  if (!bad.any().item<bool>()) return;
  FULGUR_FAIL(op.c_str(), "Detected the following values in `", what, "`: ", unique_str(t),
              " but expected class indices in [0, ", num_classes, ")",
              ignore_index ? " or ignore_index=" + std::to_string(*ignore_index) : std::string(),
              ". Hint: check num_classes (", num_classes, ") against the data.");
}

Tensor sigmoid_if_logits(const Tensor& preds) {
  const bool probabilities = preds.ge(0).logical_and(preds.le(1)).all().item<bool>();
  return probabilities ? preds : preds.sigmoid();
}

Tensor bincount(const Tensor& x, int64_t n) {
  Tensor counts = zeros({n}, {.dtype = DType::Int64, .device = x.device()});
  if (x.numel() == 0) return counts;
  return counts.scatter_add(0, x.reshape({-1}), ones_like(x.reshape({-1}), DType::Int64));
}

Tensor safe_divide(const Tensor& num, const Tensor& denom, double zero_division) {
  const Tensor n = num.is_floating_point() ? num : num.to(DType::Float32);
  const Tensor d = denom.is_floating_point() ? denom : denom.to(DType::Float32);
  return where(d.ne(0), n / d, Scalar(zero_division));
}

}  // namespace fulgur::metrics::detail
