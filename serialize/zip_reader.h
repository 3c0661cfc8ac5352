// ZipReader: reads a zip archive (PKWARE APPNOTE 6.3): the end-of-central-directory record
// (and its zip64 version), the central directory, and entries stored or deflated. This is
// the container of NumPy's .npz and of torch.save's files.
//
// Every size, offset and count is checked against the file length (and for overflow) before
// it is used, so a truncated or corrupt archive throws fulgur::Error before any large
// allocation: "zip: '<file>': entry '<name>': <problem>". Reading an entry verifies its
// CRC-32. Not supported (rejected with a clear error): multi-disk archives, encryption,
// compression methods other than stored (0) and deflate (8).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fulgur/serialize/byte_source.h"

namespace fulgur::serialize {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint16_t flags = 0;   // general purpose bit flags
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // Opens and indexes the archive at `path` (the central directory only; entries are read
  // on demand).
  explicit ZipReader(const std::string& path);
  explicit ZipReader(std::shared_ptr<const ByteSource> source);

  const std::string& name() const { return source_->name(); }
  // In central-directory order (the order the archive was written in).
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view entry_name) const;  // null if absent
  const ZipEntry& at(std::string_view entry_name) const;    // throws, listing some names

  // The entry's decompressed bytes, CRC-checked.
  std::vector<uint8_t> read(const ZipEntry& entry) const;
  // Decompresses into out[0, size); size must equal entry.uncompressed_size. CRC-checked.
  void read_into(const ZipEntry& entry, void* out, uint64_t size) const;
  // The offset of the entry's (compressed) data in the file, after its local header.
  uint64_t data_offset(const ZipEntry& entry) const;

 private:
  void index();
  [[noreturn]] void fail(const std::string& problem) const;
  [[noreturn]] void fail_entry(const ZipEntry& e, const std::string& problem) const;

  std::shared_ptr<const ByteSource> source_;
  std::vector<ZipEntry> entries_;
  uint64_t central_directory_offset_ = 0;
};

}  // namespace fulgur::serialize
