// The storage classes torch.save names in a tensor's persistent id (torch.FloatStorage,
// torch.LongStorage, ...) and the dtypes they hold.
#pragma once

#include <optional>
#include <string_view>

#include "fulgur/kernels/dtype.h"

namespace fulgur::serialize {

// "FloatStorage" for float32, "BFloat16Storage" for bfloat16, ... (the name inside torch.)
std::string_view torch_storage_type(DType dtype);
// The inverse; nullopt for any other name.
std::optional<DType> dtype_of_torch_storage_type(std::string_view name);
// "float32" -> the name safetensors uses ("F32"), and back.
std::string_view safetensors_dtype(DType dtype);
std::optional<DType> dtype_of_safetensors(std::string_view name);

}  // namespace fulgur::serialize
