// PyTorch's type promotion (torch.result_type). Operands are tensors or Python-like
// numbers. Dimensioned tensors decide within a category (bool < integer < floating);
// 0-dim tensors and numbers only matter when they are of a higher category, and then a
// number contributes its default dtype (int64, float32), a 0-dim tensor its own dtype.
// So int32_tensor + 5 is int32, int32_tensor + 2.5 is float32, and
// float16_tensor + float64_scalar_tensor is float16.
#pragma once

#include <initializer_list>
#include <variant>

#include "fulgur/tensor/tensor.h"

namespace fulgur {

using TensorOrScalar = std::variant<const Tensor*, Scalar>;

DType result_type(std::initializer_list<TensorOrScalar> operands);
inline DType result_type(const Tensor& a, const Tensor& b) { return result_type({&a, &b}); }
inline DType result_type(const Tensor& a, const Scalar& b) { return result_type({&a, b}); }

// torch.can_cast: whether an op computing in `from` may write into a `to` tensor
// (no float -> integer, no non-bool -> bool).
bool can_cast(DType from, DType to);

}  // namespace fulgur
