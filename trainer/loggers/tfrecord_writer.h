// TFRecordWriter: appends records to a TFRecord file, the container of TensorBoard's event
// files. Each record is framed as
//   uint64 length (little endian) | uint32 masked CRC32C of those 8 bytes |
//   payload | uint32 masked CRC32C of the payload
// (tensorflow/core/lib/io/record_writer.cc; masks in crc32c.h).
//
// Records are buffered and reach the file on flush() (TensorBoard's writer does the same):
// the file is only ever appended to with whole records, so a crash loses at most the
// unflushed tail and never damages the records before it (a reader stops at a truncated
// last record). close() flushes and fsyncs.
#pragma once

#include <string>
#include <string_view>

namespace fulgur::lightning::loggers {

class TFRecordWriter {
 public:
  // Creates `path` (its folder must exist); an existing file is an error, never overwritten.
  explicit TFRecordWriter(std::string path);
  ~TFRecordWriter();  // close(), errors swallowed
  TFRecordWriter(const TFRecordWriter&) = delete;
  TFRecordWriter& operator=(const TFRecordWriter&) = delete;

  void write(std::string_view record) { pending_ += frame(record); }
  void flush();
  void close();
  bool closed() const { return fd_ < 0; }
  const std::string& path() const { return path_; }

  // The framed bytes of one record.
  static std::string frame(std::string_view record);

 private:
  std::string path_;
  std::string pending_;
  int fd_ = -1;
};

}  // namespace fulgur::lightning::loggers
