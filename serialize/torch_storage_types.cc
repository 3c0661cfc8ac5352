#include "fulgur/serialize/torch_storage_types.h"

#include <array>
#include <utility>

namespace fulgur::serialize {
namespace {

struct Names {
  DType dtype;
  std::string_view torch;
  std::string_view safetensors;
};

constexpr std::array<Names, kNumDTypes> kNames = {{
    {DType::Bool, "BoolStorage", "BOOL"},
    {DType::UInt8, "ByteStorage", "U8"},
    {DType::Int8, "CharStorage", "I8"},
    {DType::Int16, "ShortStorage", "I16"},
    {DType::Int32, "IntStorage", "I32"},
    {DType::Int64, "LongStorage", "I64"},
    {DType::Float16, "HalfStorage", "F16"},
    {DType::BFloat16, "BFloat16Storage", "BF16"},
    {DType::Float32, "FloatStorage", "F32"},
    {DType::Float64, "DoubleStorage", "F64"},
}};

const Names& names_of(DType dtype) {
  for (const Names& n : kNames) {
    if (n.dtype == dtype) return n;
  }
  FULGUR_FAIL("serialize", "unknown dtype ", static_cast<int>(dtype));
}

}  // namespace

std::string_view torch_storage_type(DType dtype) { return names_of(dtype).torch; }

std::optional<DType> dtype_of_torch_storage_type(std::string_view name) {
  for (const Names& n : kNames) {
    if (n.torch == name) return n.dtype;
  }
  return std::nullopt;
}

std::string_view safetensors_dtype(DType dtype) { return names_of(dtype).safetensors; }

std::optional<DType> dtype_of_safetensors(std::string_view name) {
  for (const Names& n : kNames) {
    if (n.safetensors == name) return n.dtype;
  }
  return std::nullopt;
}

}  // namespace fulgur::serialize
