// ByteSource: a file or an in-memory buffer, read at byte offsets. The readers of the data
// pipeline (zip, npy, IDX) parse through it, so the same code reads a file on disk with
// pread (no whole-file copy: tensor payloads go straight into tensor memory) and a buffer
// handed over by a fuzzer or by a zip entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fulgur::serialize {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Total length in bytes (fixed when the source is opened).
  virtual uint64_t size() const = 0;
  // Copies bytes [offset, offset + n) into out. Throws fulgur::Error naming the source when
  // the range is outside [0, size()) or the file cannot be read. Safe to call concurrently.
  virtual void read(uint64_t offset, void* out, size_t n) const = 0;
  // The file path or the buffer's display name; every error message starts with it.
  virtual const std::string& name() const = 0;
  // The whole buffer when the source is in memory (no copy), else null.
  virtual const uint8_t* memory() const { return nullptr; }

  // The bytes [offset, offset + n) as a vector (range checked before allocating).
  std::vector<uint8_t> read_vector(uint64_t offset, size_t n) const;
};

// Opens a regular file read-only (RAII: closed with the last reference). Throws
// fulgur::Error("<op>: '<path>': cannot open: <reason>") if it cannot be opened or is not a
// regular file.
std::shared_ptr<const ByteSource> open_file(const std::string& path, const char* op = "open");

// A buffer owned by the source; `name` is used in error messages.
std::shared_ptr<const ByteSource> memory_source(std::string name, std::vector<uint8_t> bytes);
// Borrows [data, data + size): the memory must outlive every use of the source.
std::shared_ptr<const ByteSource> borrowed_source(std::string name, const uint8_t* data, size_t size);

}  // namespace fulgur::serialize
