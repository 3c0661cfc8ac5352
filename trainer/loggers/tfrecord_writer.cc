#include "fulgur/trainer/loggers/tfrecord_writer.h"

#include <cstdint>

#include "fulgur/trainer/loggers/crc32c.h"

namespace fulgur::lightning::loggers {
namespace {

void append_le(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string TFRecordWriter::frame(std::string_view record) {
  std::string out;
  out.reserve(record.size() + 16);
  append_le(out, record.size(), 8);
  append_le(out, mask_crc32c(crc32c(out.data(), 8)), 4);
  out.append(record);
  append_le(out, mask_crc32c(crc32c(record)), 4);
  return out;
}

}  // namespace fulgur::lightning::loggers
