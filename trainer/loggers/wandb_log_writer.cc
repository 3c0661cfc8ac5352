#include "fulgur/trainer/loggers/wandb_log_writer.h"

#include <zlib.h>

#include <algorithm>

namespace fulgur::lightning::loggers {
namespace {

void append_le(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void append_chunk(std::string& out, WandbLogWriter::ChunkType type, std::string_view data) {
  const auto type_byte = static_cast<Bytef>(type);
  uLong crc = ::crc32(0L, &type_byte, 1);
  crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  append_le(out, crc, 4);
  append_le(out, data.size(), 2);
  out.push_back(static_cast<char>(type));
  out.append(data);
}

}  // namespace

std::string WandbLogWriter::file_header() {
  std::string out = ":W&B";
  append_le(out, 0xBEE1, 2);  // wandb's magic: zlib.crc32(b"Weights & Biases") & 0xffff
  out.push_back(0);           // version
  return out;
}

std::string WandbLogWriter::frame(std::string_view record, uint64_t offset) {
  std::string out;
  size_t room = kBlockSize - offset % kBlockSize;
  if (room < kChunkHeaderSize) {  // no room for a chunk header: the block's tail is zeros
    out.append(room, '\0');
    room = kBlockSize;
  }
  if (record.size() + kChunkHeaderSize <= room) {
    append_chunk(out, kFull, record);
    return out;
  }
  size_t take = room - kChunkHeaderSize;
  append_chunk(out, kFirst, record.substr(0, take));
  record.remove_prefix(take);
  while (!record.empty()) {
    take = std::min(record.size(), kBlockSize - kChunkHeaderSize);
    append_chunk(out, take == record.size() ? kLast : kMiddle, record.substr(0, take));
    record.remove_prefix(take);
  }
  return out;
}

WandbLogWriter::WandbLogWriter(std::string path) : file_(std::move(path), "WandbLogWriter") {
  file_.append(file_header());
}

void WandbLogWriter::write(std::string_view record) { file_.append(frame(record, file_.size())); }

}  // namespace fulgur::lightning::loggers
