// Argument types of the sliding-window layers (convolution, pooling): a size that remembers
// whether it was given as one number or as a tuple (PyTorch's reprs print what was given),
// and convolution padding, which may also be "same" or "valid".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "fulgur/tensor/shape.h"

namespace fulgur::nn {

// `2` or `{2, 3}`: one value for every spatial dim, or one per dim (or none: `{}`).
class IntOrTuple {
 public:
  IntOrTuple() = default;  // none given (Python's None): is_none()
  IntOrTuple(int value) : IntOrTuple(static_cast<int64_t>(value)) {}  // NOLINT: like Python's int
  IntOrTuple(int64_t value) : values_{value}, scalar_(true) {}       // NOLINT
  IntOrTuple(std::initializer_list<int64_t> values) : values_(values) {}  // NOLINT
  IntOrTuple(std::vector<int64_t> values) : values_(std::move(values)) {}  // NOLINT

  bool is_none() const { return values_.empty(); }
  bool is_scalar() const { return scalar_; }
  const Shape& values() const { return values_; }
  // One value per dim (a scalar repeated); throws naming `what` and `op` on a length mismatch.
  Shape expand(int64_t ndim, const char* what, const char* op) const;
  // As PyTorch prints it: "2" for a number, "(2, 3)" / "(2,)" for a tuple.
  std::string repr() const;

 private:
  Shape values_;
  bool scalar_ = false;
};

// Convolution padding: numbers (one for all spatial dims or one per dim), or "same" (output
// as large as the input; stride 1 only; any odd leftover padding goes to the right, as in
// PyTorch) or "valid" (no padding).
class ConvPadding {
 public:
  enum class Mode { Explicit, Same, Valid };
  ConvPadding(int value) : ConvPadding(static_cast<int64_t>(value)) {}  // NOLINT
  ConvPadding(int64_t value) : values_{value} {}                       // NOLINT
  ConvPadding(std::initializer_list<int64_t> values) : values_(values) {}  // NOLINT
  ConvPadding(std::vector<int64_t> values) : values_(std::move(values)) {}  // NOLINT
  ConvPadding(const IntOrTuple& values) : values_(values.values()) {}      // NOLINT
  ConvPadding(const char* mode) : ConvPadding(std::string(mode)) {}        // NOLINT
  ConvPadding(const std::string& mode);                                    // NOLINT: "same" / "valid"

  Mode mode() const { return mode_; }
  // The explicit values (empty for "same" / "valid").
  const Shape& values() const { return values_; }
  // "same", "valid", or the values expanded to ndim as a tuple "(1, 1)" (Conv modules print
  // padding as a tuple).
  std::string repr(int64_t ndim) const;

 private:
  Mode mode_ = Mode::Explicit;
  Shape values_;
};

// A window argument as one value per spatial dim: a single value is repeated, otherwise the
// length must be ndim (else fulgur::Error: "<op>: <what> must be ...").
Shape expand_window_arg(IntArrayRef values, int64_t ndim, const char* what, const char* op);

// "(2, 3)", "(2,)": a Python tuple.
std::string tuple_repr(IntArrayRef values);

}  // namespace fulgur::nn
