// ONNX TensorProto -> fulgur::Tensor (CPU). Parsing is done by libonnx's protobuf classes.
#pragma once

#include <filesystem>
#include <string>

#include "fulgur/tensor/tensor.h"

namespace onnx {
class TensorProto;
}

namespace fulgur::onnx {

// A file path in an error message is the caller's own: shown whole (escaped) up to this many
// bytes, so that the file name at its end is not cut off (printable's default is 60).
inline constexpr size_t kMaxPathInMessage = 4096;

// Reads a serialized onnx.TensorProto file (e.g. test_data_set_0/input_0.pb).
// Throws fulgur::Error on unreadable, malformed or unsupported data.
Tensor load_tensor_proto(const std::filesystem::path& path);

// Parses a serialized onnx.TensorProto from memory.
Tensor parse_tensor_proto(const std::string& bytes);

// Converts a parsed TensorProto. base_dir is the folder external data is resolved against
// (empty: external data is refused); a location may not leave that folder.
Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::filesystem::path& base_dir = {});

// ONNX TensorProto.DataType code -> fulgur dtype (throws for types fulgur lacks).
DType dtype_from_onnx(int32_t onnx_type);

}  // namespace fulgur::onnx
