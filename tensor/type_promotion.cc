#include "fulgur/tensor/type_promotion.h"

#include <optional>

namespace fulgur {
namespace {

using MaybeDType = std::optional<DType>;

MaybeDType promote_skip_undefined(MaybeDType a, MaybeDType b) {
  if (!a) return b;
  if (!b) return a;
  return promote_types(*a, *b);
}

// c10's combine_categories: `higher` is the result of the higher-priority operand class.
MaybeDType combine_categories(MaybeDType higher, MaybeDType lower) {
  if (higher && is_floating(*higher)) return higher;
  if ((higher && *higher == DType::Bool) || (lower && is_floating(*lower))) {
    return promote_skip_undefined(higher, lower);
  }
  if (higher) return higher;
  return lower;
}

}  // namespace

DType result_type(std::initializer_list<TensorOrScalar> operands) {
  MaybeDType dim_result, zero_dim_result, wrapped_result;
  for (const TensorOrScalar& operand : operands) {
    if (const Tensor* const* t = std::get_if<const Tensor*>(&operand)) {
      if (!(*t)->defined()) continue;
      MaybeDType& slot = (*t)->dim() == 0 ? zero_dim_result : dim_result;
      slot = promote_skip_undefined(slot, (*t)->dtype());
    } else {
      wrapped_result = promote_skip_undefined(wrapped_result, std::get<Scalar>(operand).default_dtype());
    }
  }
  const MaybeDType result =
      combine_categories(dim_result, combine_categories(zero_dim_result, wrapped_result));
  return result.value_or(DType::Float32);
}

bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != DType::Bool && to == DType::Bool) return false;
  return true;
}

}  // namespace fulgur
