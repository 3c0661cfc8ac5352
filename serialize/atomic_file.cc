#include "fulgur/serialize/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "fulgur/kernels/error.h"

namespace fulgur::serialize {
namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A suffix unlikely to collide between processes and threads; O_EXCL settles the rest.
std::string random_suffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  const uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                     static_cast<uint64_t>(getpid()) << 16 ^ counter.fetch_add(1) ^
                     static_cast<uint64_t>(
                         std::chrono::steady_clock::now().time_since_epoch().count());
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  uint64_t v = x;
  for (int i = 0; i < 10; ++i) {
    s.push_back(kChars[v % 36]);
    v /= 36;
  }
  return s;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path, const char* op)
    : path_(std::move(path)), op_(op) {
  FULGUR_CHECK(!path_.empty() && path_.back() != '/', op_, "'", path_,
               "': not a file path");
  const std::string dir = dir_of(path_);
  const std::string base = base_of(path_);
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_path_ = path_.substr(0, path_.size() - base.size()) + "." + base + ".tmp." +
                 random_suffix();
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST) {
      const int err = errno;
      temp_path_.clear();
      fail("cannot create a temporary file in '" + dir + "'", err);
    }
  }
  temp_path_.clear();
  fail("cannot create a temporary file in '" + dir + "'", EEXIST);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!committed_) discard();
}

void AtomicFileWriter::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

void AtomicFileWriter::fail(const std::string& what, int err) const {
  FULGUR_FAIL(op_, "'", path_, "': ", what, ": ", std::strerror(err));
}

void AtomicFileWriter::write(const void* data, size_t n) {
  FULGUR_CHECK(fd_ >= 0 && !committed_, op_, "'", path_, "': write after commit");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      discard();
      fail("cannot write", err);
    }
    p += w;
    n -= static_cast<size_t>(w);
    offset_ += static_cast<uint64_t>(w);
  }
}

void AtomicFileWriter::commit() {
  FULGUR_CHECK(fd_ >= 0 && !committed_, op_, "'", path_, "': commit called twice");
  if (::fsync(fd_) != 0) {
    const int err = errno;
    discard();
    fail("cannot fsync the temporary file", err);
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    discard();
    fail("cannot close the temporary file", err);
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    discard();
    fail("cannot rename the temporary file over it", err);
  }
  committed_ = true;
  temp_path_.clear();
  // The rename is in the directory's data: without this fsync a power loss could bring back
  // the old directory entry (the old file), which is still complete, but the caller was told
  // the new one was saved.
  const std::string dir = dir_of(path_);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail("cannot open its directory to fsync it", errno);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  // Some file systems refuse fsync on directories (EINVAL); the rename has happened.
  if (rc != 0 && err != EINVAL && err != EROFS) fail("cannot fsync its directory", err);
}

void write_file_atomic(const std::string& path, std::string_view bytes, const char* op) {
  AtomicFileWriter w(path, op);
  w.write(bytes);
  w.commit();
}

}  // namespace fulgur::serialize
