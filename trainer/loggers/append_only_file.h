// AppendOnlyFile: a log file that is only ever appended to, in whole records, the common part
// of the loggers' record files (TensorBoard's TFRecord event files, W&B's .wandb files).
//
// Bytes are buffered and reach the file on flush(): a crash loses at most the unflushed tail
// and never damages what came before (readers stop at a truncated last record). The file is
// created with O_EXCL, never overwritten; close() flushes and fsyncs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fulgur::lightning::loggers {

class AppendOnlyFile {
 public:
  // Creates `path` (its folder must exist); `op` (a literal) names the writer in errors.
  AppendOnlyFile(std::string path, const char* op);
  ~AppendOnlyFile();  // close(), errors swallowed
  AppendOnlyFile(const AppendOnlyFile&) = delete;
  AppendOnlyFile& operator=(const AppendOnlyFile&) = delete;

  void append(std::string_view bytes) { pending_.append(bytes); }
  void flush();
  void close();
  bool closed() const { return fd_ < 0; }
  const std::string& path() const { return path_; }
  // Bytes in the file once what is pending is flushed (the offset of the next append).
  uint64_t size() const { return flushed_ + pending_.size(); }

 private:
  std::string path_;
  const char* op_;
  std::string pending_;
  uint64_t flushed_ = 0;
  int fd_ = -1;
};

}  // namespace fulgur::lightning::loggers
