// AtomicFileWriter: replaces a file so that a crash at any moment leaves either the old
// complete file or the new complete file at the path, never a mix or a truncated one.
//
// The bytes go to a temporary file in the target's directory (rename is atomic only within
// one file system); commit() fsyncs it, renames it over the target and fsyncs the directory
// so that the rename itself is durable. If commit() is never reached (an exception, an
// early return) the destructor removes the temporary file and the target is untouched.
// Errors throw fulgur::Error("<op>: '<path>': <what>: <strerror(errno)>").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fulgur::serialize {

class AtomicFileWriter {
 public:
  // Creates "<dir>/.<name>.tmp.XXXXXX" next to `path` (mode 0644 less the umask). `op`
  // starts every error message ("save", "save_safetensors").
  explicit AtomicFileWriter(std::string path, const char* op = "save");
  ~AtomicFileWriter();  // removes the temporary file unless committed
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Appends n bytes (retries short writes and EINTR).
  void write(const void* data, size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Bytes written so far (the offset of the next write).
  uint64_t offset() const { return offset_; }
  // fsync, close, rename over the target, fsync the directory. Once.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err) const;
  void discard() noexcept;

  std::string path_;
  std::string temp_path_;
  const char* op_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  bool committed_ = false;
};

// Writes `bytes` to `path` atomically (an AtomicFileWriter with one write).
void write_file_atomic(const std::string& path, std::string_view bytes, const char* op = "save");

}  // namespace fulgur::serialize
