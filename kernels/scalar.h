// A number that is not a tensor: what `t + 2`, `full(..., 3.5)` and `fill_(true)` carry.
// Like a Python number it has a category (bool, integer, floating) that takes part in type
// promotion, and it keeps int64 values exactly.
#pragma once

#include <cstdint>
#include <ostream>
#include <type_traits>

#include "fulgur/kernels/dtype.h"

namespace fulgur {

class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Int, Float };

  Scalar() : Scalar(int64_t{0}) {}
  template <typename T, std::enable_if_t<std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : kind_(Kind::Bool), i_(v ? 1 : 0), d_(v ? 1.0 : 0.0) {}  // NOLINT
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : kind_(Kind::Int), i_(static_cast<int64_t>(v)), d_(static_cast<double>(v)) {}  // NOLINT
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Scalar(T v) : kind_(Kind::Float), i_(saturating_int64(static_cast<double>(v))), d_(static_cast<double>(v)) {}  // NOLINT
  Scalar(Half v) : Scalar(static_cast<float>(v)) {}  // NOLINT
  Scalar(BFloat16 v) : Scalar(static_cast<float>(v)) {}  // NOLINT

  Kind kind() const { return kind_; }
  bool is_floating() const { return kind_ == Kind::Float; }
  bool is_integral() const { return kind_ == Kind::Int; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  double to_double() const { return d_; }
  // A float truncates toward zero, saturating at int64's limits, NaN -> 0 (a plain cast is
  // undefined behaviour out of range; a fuzzer fed BatchNorm an epsilon of 1e24).
  int64_t to_int64() const { return i_; }
  bool to_bool() const { return kind_ == Kind::Float ? d_ != 0.0 : i_ != 0; }

  // The value converted to T the way a tensor assignment would convert it.
  template <typename T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>) {
      return to_bool();
    } else if constexpr (is_floating_v<T>) {
      return static_cast<T>(static_cast<opmath_t<T>>(kind_ == Kind::Float ? d_ : static_cast<double>(i_)));
    } else {
      return static_cast<T>(to_int64());
    }
  }

  // The dtype a 0-dim tensor made from this scalar gets: bool, int64 or the default float.
  DType default_dtype() const {
    return kind_ == Kind::Bool ? DType::Bool : kind_ == Kind::Int ? DType::Int64 : DType::Float32;
  }

 private:
  static int64_t saturating_int64(double v) {
    if (v != v) return 0;
    // 2^63 is exact in double; every double below it converts without overflow.
    constexpr double kTwo63 = 9223372036854775808.0;
    if (v >= kTwo63) return INT64_MAX;
    if (v < -kTwo63) return INT64_MIN;
    return static_cast<int64_t>(v);
  }

  Kind kind_;
  int64_t i_;
  double d_;
};

inline std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  if (s.is_bool()) return os << (s.to_bool() ? "True" : "False");
  if (s.is_integral()) return os << s.to_int64();
  return os << s.to_double();
}

}  // namespace fulgur
