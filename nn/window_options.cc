#include "fulgur/nn/window_options.h"

#include "fulgur/kernels/error.h"

namespace fulgur::nn {

Shape expand_window_arg(IntArrayRef values, int64_t ndim, const char* what, const char* op) {
  if (values.size() == 1) return Shape(static_cast<size_t>(ndim), values[0]);
  FULGUR_CHECK(static_cast<int64_t>(values.size()) == ndim, op, what, " must be a single number or a list of ",
               ndim, " numbers (one per spatial dim), got ", tuple_repr(values));
  return values.vec();
}

std::string tuple_repr(IntArrayRef values) {
  std::string s = "(";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + std::to_string(values[i]);
  return s + (values.size() == 1 ? ",)" : ")");
}

Shape IntOrTuple::expand(int64_t ndim, const char* what, const char* op) const {
  if (scalar_) return Shape(static_cast<size_t>(ndim), values_[0]);
  return expand_window_arg(values_, ndim, what, op);
}

std::string IntOrTuple::repr() const {
  if (is_none()) return "None";
  return scalar_ ? std::to_string(values_[0]) : tuple_repr(values_);
}

ConvPadding::ConvPadding(const std::string& mode) {
  if (mode == "same") {
    mode_ = Mode::Same;
  } else if (mode == "valid") {
    mode_ = Mode::Valid;
  } else {
    FULGUR_FAIL("conv", "Invalid padding string '", mode, "', should be one of {'valid', 'same'}");
  }
}

std::string ConvPadding::repr(int64_t ndim) const {
  if (mode_ == Mode::Same) return "same";
  if (mode_ == Mode::Valid) return "valid";
  return tuple_repr(values_.size() == 1 ? Shape(static_cast<size_t>(ndim), values_[0]) : values_);
}

}  // namespace fulgur::nn
