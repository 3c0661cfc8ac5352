#include "fulgur/trainer/loggers/append_only_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fulgur/kernels/error.h"

namespace fulgur::lightning::loggers {

AppendOnlyFile::AppendOnlyFile(std::string path, const char* op) : path_(std::move(path)), op_(op) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  FULGUR_CHECK(fd_ >= 0, op_, "cannot create '", path_, "': ", std::strerror(errno));
}

AppendOnlyFile::~AppendOnlyFile() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() explicitly to see the error
  }
}

void AppendOnlyFile::flush() {
  FULGUR_CHECK(fd_ >= 0 || pending_.empty(), op_, "'", path_, "' is closed");
  size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Keep what did not reach the file, so that size() stays the file's next offset.
      const int err = errno;
      pending_.erase(0, done);
      flushed_ += done;
      FULGUR_CHECK(false, op_, "cannot write '", path_, "': ", std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  flushed_ += done;
  pending_.clear();
}

void AppendOnlyFile::close() {
  if (fd_ < 0) return;
  try {
    flush();
  } catch (...) {  // the descriptor is released either way; the write error is what the caller sees
    ::close(fd_);
    fd_ = -1;
    pending_.clear();
    throw;
  }
  const int fd = fd_;
  fd_ = -1;
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  FULGUR_CHECK(synced, op_, "cannot sync '", path_, "': ", std::strerror(err));
}

}  // namespace fulgur::lightning::loggers
