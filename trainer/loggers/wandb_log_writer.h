// WandbLogWriter: appends records to a W&B run file (run-<id>.wandb), which is LevelDB's log
// format (leveldb/doc/log_format.md) behind a 7-byte W&B header, as wandb's DataStore
// (wandb/sdk/internal/datastore.py) writes and `wandb sync` reads it:
//
//   file   := header block*            header := ":W&B" | uint16 0xBEE1 | uint8 version 0
//   block  := 32768 bytes of chunks, a tail under 7 bytes zero-filled
//   chunk  := uint32 CRC-32 (zlib's) of type and data | uint16 length | uint8 type | data
//   type   := FULL 1 | FIRST 2 | MIDDLE 3 | LAST 4   (a record larger than its block's room is
//             cut into FIRST, MIDDLE..., LAST chunks)
//
// (all little endian; the first block holds the header). Each record is one serialized
// wandb_internal.Record (wandb_records.h). Records reach the file on flush(), whole, through
// an AppendOnlyFile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fulgur/trainer/loggers/append_only_file.h"

namespace fulgur::lightning::loggers {

class WandbLogWriter {
 public:
  static constexpr size_t kBlockSize = 32768;
  static constexpr size_t kChunkHeaderSize = 7;
  enum ChunkType : uint8_t { kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

  // Creates `path` (its folder must exist; an existing file is an error) with the W&B header.
  explicit WandbLogWriter(std::string path);

  void write(std::string_view record);
  void flush() { file_.flush(); }
  void close() { file_.close(); }
  const std::string& path() const { return file_.path(); }

  // The bytes write() appends for `record` when the file is `offset` bytes long.
  static std::string frame(std::string_view record, uint64_t offset);
  // The file's first 7 bytes.
  static std::string file_header();

 private:
  AppendOnlyFile file_;
};

}  // namespace fulgur::lightning::loggers
