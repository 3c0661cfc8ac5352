#include "fulgur/nn/onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "fulgur/kernels/error.h"

namespace fulgur::onnx {
namespace {

constexpr const char* kOp = "onnx::load_tensor_proto";

std::string read_file(const std::filesystem::path& path, const char* op) {
  std::ifstream in(path, std::ios::binary);
  FULGUR_CHECK(in.good(), op, "cannot open ", fulgur::printable(path.string(), kMaxPathInMessage));
  std::ostringstream ss;
  ss << in.rdbuf();
  FULGUR_CHECK(!in.bad(), op, "cannot read ", fulgur::printable(path.string()));
  return ss.str();
}

// Resolves an external-data location inside base_dir, refusing anything that leaves it.
std::filesystem::path resolve_external(const std::filesystem::path& base_dir, const std::string& location) {
  FULGUR_CHECK(!base_dir.empty(), kOp, "external data (", fulgur::printable(location),
               ") is only read for tensors of a model file");
  FULGUR_CHECK(!location.empty() && location.find('\0') == std::string::npos, kOp,
               "empty or invalid external data location");
  const std::filesystem::path rel(location);
  FULGUR_CHECK(rel.is_relative() && !rel.has_root_name() && !rel.has_root_directory(), kOp,
               "external data location ", fulgur::printable(location), " is not a relative path");
  for (const auto& part : rel) {
    FULGUR_CHECK(part != "..", kOp, "external data location ", fulgur::printable(location),
                 " escapes the model's folder");
  }
  std::error_code ec;
  const auto base = std::filesystem::weakly_canonical(base_dir, ec);
  FULGUR_CHECK(!ec, kOp, "cannot resolve ", fulgur::printable(base_dir.string()));
  const auto full = std::filesystem::weakly_canonical(base / rel, ec);
  FULGUR_CHECK(!ec, kOp, "cannot resolve external data ", fulgur::printable(location));
  const auto b = base.string() + "/";
  FULGUR_CHECK(full.string().compare(0, b.size(), b) == 0, kOp, "external data location ",
               fulgur::printable(location), " escapes the model's folder (through a link)");
  return full;
}

std::string read_external(const ::onnx::TensorProto& proto, const std::filesystem::path& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : proto.external_data()) {
    auto parse = [&](const std::string& v) {
      FULGUR_CHECK(!v.empty() && v.size() < 19 && v.find_first_not_of("0123456789") == std::string::npos, kOp,
                   "bad external data ", fulgur::printable(kv.key()), ": ", fulgur::printable(v));
      return static_cast<int64_t>(std::stoll(v));
    };
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = parse(kv.value());
    else if (kv.key() == "length") length = parse(kv.value());
  }
  const auto path = resolve_external(base_dir, location);
  std::ifstream in(path, std::ios::binary);
  FULGUR_CHECK(in.good(), kOp, "cannot open external data ", fulgur::printable(location));
  in.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(in.tellg());
  FULGUR_CHECK(offset <= size, kOp, "external data offset ", offset, " beyond the file (", size, " bytes)");
  if (length < 0) length = size - offset;
  FULGUR_CHECK(length <= size - offset, kOp, "external data [", offset, ", +", length, ") beyond the file (",
               size, " bytes)");
  std::string out(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(out.data(), length);
  FULGUR_CHECK(in.good() || length == 0, kOp, "cannot read external data ", fulgur::printable(location));
  return out;
}

template <typename T, typename Src>
void copy_typed(const Src& src, void* dst) {
  T* out = static_cast<T*>(dst);
  int64_t i = 0;
  for (const auto& v : src) out[i++] = static_cast<T>(v);
}

}  // namespace

DType dtype_from_onnx(int32_t t) {
  using TP = ::onnx::TensorProto;
  switch (t) {
    case TP::FLOAT: return DType::Float32;
    case TP::DOUBLE: return DType::Float64;
    case TP::FLOAT16: return DType::Float16;
    case TP::BFLOAT16: return DType::BFloat16;
    case TP::INT64: return DType::Int64;
    case TP::INT32: return DType::Int32;
    case TP::INT16: return DType::Int16;
    case TP::INT8: return DType::Int8;
    case TP::UINT8: return DType::UInt8;
    case TP::BOOL: return DType::Bool;
    default: break;
  }
  FULGUR_FAIL("onnx", "unsupported ONNX tensor data type ", t,
              " (fulgur has float16/bfloat16/float32/float64, int8/16/32/64, uint8, bool)");
}

Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::filesystem::path& base_dir) {
  using TP = ::onnx::TensorProto;
  const std::string name = fulgur::printable(proto.name());
  FULGUR_CHECK(proto.has_data_type(), kOp, "tensor '", name, "' has no data type");
  const DType dtype = dtype_from_onnx(proto.data_type());
  Shape sizes;
  int64_t numel = 1;
  for (int64_t d : proto.dims()) {
    FULGUR_CHECK(d >= 0, kOp, "tensor '", name, "' has a negative dim ", d);
    FULGUR_CHECK(d == 0 || numel <= std::numeric_limits<int64_t>::max() / 8 / d, kOp, "tensor '", name,
                 "' is too large");
    numel *= d;
    sizes.push_back(d);
  }
  FULGUR_CHECK(!proto.has_segment(), kOp, "tensor '", name, "': segmented tensors are not supported");
  const size_t esize = element_size(dtype);
  const uint64_t nbytes = static_cast<uint64_t>(numel) * esize;

  std::string external;
  const std::string* raw = nullptr;
  if (proto.data_location() == TP::EXTERNAL) {
    external = read_external(proto, base_dir);
    raw = &external;
  } else if (proto.has_raw_data()) {
    raw = &proto.raw_data();
  }
  Tensor out = make_tensor(sizes, dtype, kCPU);
  void* dst = numel > 0 ? out.data_ptr() : nullptr;
  if (raw != nullptr) {
    FULGUR_CHECK(raw->size() == nbytes, kOp, "tensor '", name, "': raw data has ", raw->size(),
                 " bytes, its shape and type need ", nbytes);
    if (nbytes > 0) std::memcpy(dst, raw->data(), nbytes);  // little-endian host
    return out;
  }
  auto check_count = [&](int64_t n, const char* field) {
    FULGUR_CHECK(n == numel, kOp, "tensor '", name, "': ", field, " has ", n, " values, its shape needs ", numel);
  };
  switch (proto.data_type()) {
    case TP::FLOAT:
      check_count(proto.float_data_size(), "float_data");
      copy_typed<float>(proto.float_data(), dst);
      break;
    case TP::DOUBLE:
      check_count(proto.double_data_size(), "double_data");
      copy_typed<double>(proto.double_data(), dst);
      break;
    case TP::INT64:
      check_count(proto.int64_data_size(), "int64_data");
      copy_typed<int64_t>(proto.int64_data(), dst);
      break;
    case TP::INT32:
      check_count(proto.int32_data_size(), "int32_data");
      copy_typed<int32_t>(proto.int32_data(), dst);
      break;
    case TP::INT16:
      check_count(proto.int32_data_size(), "int32_data");
      copy_typed<int16_t>(proto.int32_data(), dst);
      break;
    case TP::INT8:
      check_count(proto.int32_data_size(), "int32_data");
      copy_typed<int8_t>(proto.int32_data(), dst);
      break;
    case TP::UINT8:
      check_count(proto.int32_data_size(), "int32_data");
      copy_typed<uint8_t>(proto.int32_data(), dst);
      break;
    case TP::BOOL: {
      check_count(proto.int32_data_size(), "int32_data");
      bool* b = static_cast<bool*>(dst);
      for (int64_t i = 0; i < numel; ++i) b[i] = proto.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    case TP::FLOAT16:
    case TP::BFLOAT16:  // the 16 bits of each value in int32_data
      check_count(proto.int32_data_size(), "int32_data");
      copy_typed<uint16_t>(proto.int32_data(), dst);
      break;
    default:
      FULGUR_FAIL(kOp, "tensor '", name, "': unsupported data type");
  }
  return out;
}

Tensor parse_tensor_proto(const std::string& bytes) {
  ::onnx::TensorProto proto;
  FULGUR_CHECK(bytes.size() < (size_t{1} << 31) && proto.ParseFromString(bytes), kOp,
               "not a valid serialized onnx.TensorProto");
  return tensor_from_proto(proto);
}

Tensor load_tensor_proto(const std::filesystem::path& path) {
  const std::string bytes = read_file(path, kOp);
  ::onnx::TensorProto proto;
  FULGUR_CHECK(bytes.size() < (size_t{1} << 31) && proto.ParseFromString(bytes), kOp,
               fulgur::printable(path.string()), " is not a valid serialized onnx.TensorProto");
  return tensor_from_proto(proto, path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

}  // namespace fulgur::onnx
