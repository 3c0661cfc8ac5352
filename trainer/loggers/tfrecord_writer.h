// TFRecordWriter: appends records to a TFRecord file, the container of TensorBoard's event
// files. Each record is framed as
//   uint64 length (little endian) | uint32 masked CRC32C of those 8 bytes |
//   payload | uint32 masked CRC32C of the payload
// (tensorflow/core/lib/io/record_writer.cc; masks in crc32c.h).
//
// Records are buffered and reach the file on flush() (TensorBoard's writer does the same),
// through an AppendOnlyFile: a crash loses at most the unflushed tail. close() flushes and
// fsyncs.
#pragma once

#include <string>
#include <string_view>

#include "fulgur/trainer/loggers/append_only_file.h"

namespace fulgur::lightning::loggers {

class TFRecordWriter {
 public:
  // Creates `path` (its folder must exist); an existing file is an error, never overwritten.
  explicit TFRecordWriter(std::string path) : file_(std::move(path), "TFRecordWriter") {}

  void write(std::string_view record) { file_.append(frame(record)); }
  void flush() { file_.flush(); }
  void close() { file_.close(); }
  bool closed() const { return file_.closed(); }
  const std::string& path() const { return file_.path(); }

  // The framed bytes of one record.
  static std::string frame(std::string_view record);

 private:
  AppendOnlyFile file_;
};

}  // namespace fulgur::lightning::loggers
