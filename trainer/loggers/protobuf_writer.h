// ProtobufWriter: the protobuf wire format, encode side only (varint, 64-bit, length-delimited,
// 32-bit fields), for the TensorBoard event records. Debian's libprotobuf is there but not
// TensorBoard's .proto files nor protoc; the handful of messages we write are encoded by hand,
// their field numbers written down next to where each one is used (tensorboard_events.cc).
//
//   ProtobufWriter summary_value;
//   summary_value.string_field(1, "loss").float_field(2, 0.5f);   // Summary.Value{tag, simple_value}
//   ProtobufWriter summary;
//   summary.message_field(1, summary_value);                       // Summary{repeated value = 1}
//
// Fields come out in call order; proto3 readers accept any order. Scalars at their default
// value are written when called (callers skip them to match protobuf's own output).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fulgur::lightning::loggers {

class ProtobufWriter {
 public:
  // Wire type 0: int32/int64/uint64/bool/enum (negative ints take 10 bytes, as protobuf does).
  ProtobufWriter& varint_field(uint32_t field, uint64_t value);
  ProtobufWriter& int64_field(uint32_t field, int64_t value) { return varint_field(field, static_cast<uint64_t>(value)); }
  ProtobufWriter& bool_field(uint32_t field, bool value) { return varint_field(field, value ? 1 : 0); }
  // Wire type 1: double, fixed64.
  ProtobufWriter& fixed64_field(uint32_t field, uint64_t value);
  ProtobufWriter& double_field(uint32_t field, double value);
  // Wire type 5: float, fixed32.
  ProtobufWriter& fixed32_field(uint32_t field, uint32_t value);
  ProtobufWriter& float_field(uint32_t field, float value);
  // Wire type 2: string, bytes, embedded message.
  ProtobufWriter& bytes_field(uint32_t field, std::string_view bytes);
  ProtobufWriter& string_field(uint32_t field, std::string_view s) { return bytes_field(field, s); }
  ProtobufWriter& message_field(uint32_t field, const ProtobufWriter& message) {
    return bytes_field(field, message.bytes());
  }

  const std::string& bytes() const { return bytes_; }

  // A base-128 varint, low groups first (the building block of every field).
  static void append_varint(std::string& out, uint64_t value);

 private:
  void tag(uint32_t field, uint32_t wire_type) { append_varint(bytes_, (uint64_t{field} << 3) | wire_type); }
  void little_endian(uint64_t value, int n);

  std::string bytes_;
};

}  // namespace fulgur::lightning::loggers
