// ZipWriter: the zip container torch.save writes. Entries are stored (not compressed) and
// each entry's data starts at a multiple of 64 bytes from the start of the file, padded
// through an extra field of the local header with id "FB" filled with 'Z', as PyTorch's
// writer does (so that a reader can map tensor data in place, aligned). CRC-32 comes from
// zlib and is written in the local header (no data descriptors). Zip64 records are added
// when an entry, an offset or the entry count passes the 32/16-bit limits (or always, with
// Options::force_zip64, which the tests use to cover that path with small files).
//
// The writer streams: each add() writes its header and data at once through the sink, and
// finish() writes the central directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace fulgur::serialize {

class ZipWriter {
 public:
  // Receives the file's bytes in order (e.g. AtomicFileWriter::write).
  using Sink = std::function<void(const void* data, size_t n)>;
  struct Options {
    uint64_t alignment = 64;  // a power of two; data of every entry starts at a multiple
    bool force_zip64 = false;
  };

  explicit ZipWriter(Sink sink) : ZipWriter(std::move(sink), Options{}) {}
  ZipWriter(Sink sink, Options options);

  // Appends a stored entry. Names are unique (checked) and at most 65535 bytes.
  void add(std::string_view name, const void* data, size_t n);
  void add(std::string_view name, std::string_view bytes) { add(name, bytes.data(), bytes.size()); }
  // Writes the central directory and the end records. Once; no add() after it.
  void finish();

  uint64_t offset() const { return offset_; }

 private:
  struct Entry {
    std::string name;
    uint64_t size;
    uint32_t crc;
    uint64_t header_offset;
    bool zip64;
  };
  void emit(const void* data, size_t n);

  Sink sink_;
  Options options_;
  uint64_t offset_ = 0;
  std::vector<Entry> entries_;
  bool finished_ = false;
};

// The whole zip in memory (tests, small files).
std::string zip_to_string(const std::vector<std::pair<std::string, std::string>>& entries,
                          ZipWriter::Options options = {});

}  // namespace fulgur::serialize
