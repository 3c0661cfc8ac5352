#include "fulgur/trainer/loggers/protobuf_writer.h"

#include <bit>

namespace fulgur::lightning::loggers {

void ProtobufWriter::append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void ProtobufWriter::little_endian(uint64_t value, int n) {
  for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

ProtobufWriter& ProtobufWriter::varint_field(uint32_t field, uint64_t value) {
  tag(field, 0);
  append_varint(bytes_, value);
  return *this;
}

ProtobufWriter& ProtobufWriter::fixed64_field(uint32_t field, uint64_t value) {
  tag(field, 1);
  little_endian(value, 8);
  return *this;
}

ProtobufWriter& ProtobufWriter::double_field(uint32_t field, double value) {
  return fixed64_field(field, std::bit_cast<uint64_t>(value));
}

ProtobufWriter& ProtobufWriter::fixed32_field(uint32_t field, uint32_t value) {
  tag(field, 5);
  little_endian(value, 4);
  return *this;
}

ProtobufWriter& ProtobufWriter::float_field(uint32_t field, float value) {
  return fixed32_field(field, std::bit_cast<uint32_t>(value));
}

ProtobufWriter& ProtobufWriter::bytes_field(uint32_t field, std::string_view bytes) {
  tag(field, 2);
  append_varint(bytes_, bytes.size());
  bytes_.append(bytes);
  return *this;
}

}  // namespace fulgur::lightning::loggers
