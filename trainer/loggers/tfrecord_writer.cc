#include "fulgur/trainer/loggers/tfrecord_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "fulgur/kernels/error.h"
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

TFRecordWriter::TFRecordWriter(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  FULGUR_CHECK(fd_ >= 0, "TFRecordWriter", "cannot create '", path_, "': ", std::strerror(errno));
}

TFRecordWriter::~TFRecordWriter() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() explicitly to see the error
  }
}

void TFRecordWriter::flush() {
  FULGUR_CHECK(fd_ >= 0 || pending_.empty(), "TFRecordWriter", "'", path_, "' is closed");
  size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    FULGUR_CHECK(n > 0, "TFRecordWriter", "cannot write '", path_, "': ", std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  pending_.clear();
}

void TFRecordWriter::close() {
  if (fd_ < 0) return;
  flush();
  const int fd = fd_;
  fd_ = -1;
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  FULGUR_CHECK(synced, "TFRecordWriter", "cannot sync '", path_, "': ", std::strerror(err));
}

}  // namespace fulgur::lightning::loggers
