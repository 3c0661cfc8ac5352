#include "fulgur/serialize/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fulgur/kernels/error.h"

namespace fulgur::serialize {
namespace {

void check_range(const ByteSource& s, uint64_t offset, size_t n) {
  FULGUR_CHECK(offset <= s.size() && n <= s.size() - offset, "read", "'", s.name(),
               "': reading ", n, " bytes at offset ", offset, " runs past the end (", s.size(),
               " bytes): the file is truncated or an offset/size field is corrupt");
}

class FileSource final : public ByteSource {
 public:
  FileSource(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }
  void read(uint64_t offset, void* out, size_t n) const override {
    check_range(*this, offset, n);
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      FULGUR_CHECK(got >= 0, "read", "'", path_, "': read error at offset ", offset, ": ",
                   std::strerror(errno));
      FULGUR_CHECK(got > 0, "read", "'", path_, "': unexpected end of file at offset ", offset,
                   " (the file shrank while being read?)");
      p += got;
      n -= static_cast<size_t>(got);
      offset += static_cast<uint64_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string name, std::vector<uint8_t> owned, const uint8_t* data, size_t size)
      : name_(std::move(name)), owned_(std::move(owned)),
        data_(owned_.empty() ? data : owned_.data()), size_(owned_.empty() ? size : owned_.size()) {}
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  const uint8_t* memory() const override { return data_; }
  void read(uint64_t offset, void* out, size_t n) const override {
    check_range(*this, offset, n);
    if (n > 0) std::memcpy(out, data_ + offset, n);
  }

 private:
  std::string name_;
  std::vector<uint8_t> owned_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace

std::vector<uint8_t> ByteSource::read_vector(uint64_t offset, size_t n) const {
  check_range(*this, offset, n);
  std::vector<uint8_t> out(n);
  read(offset, out.data(), n);
  return out;
}

std::shared_ptr<const ByteSource> open_file(const std::string& path, const char* op) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  FULGUR_CHECK(fd >= 0, op, "'", path, "': cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool is_dir = S_ISDIR(st.st_mode);
    ::close(fd);
    FULGUR_FAIL(op, "'", path, "': cannot open: ", is_dir ? "is a directory" : "not a regular file");
  }
  return std::make_shared<FileSource>(path, fd, static_cast<uint64_t>(st.st_size));
}

std::shared_ptr<const ByteSource> memory_source(std::string name, std::vector<uint8_t> bytes) {
  if (bytes.empty()) return std::make_shared<MemorySource>(std::move(name), std::vector<uint8_t>{}, nullptr, 0);
  return std::make_shared<MemorySource>(std::move(name), std::move(bytes), nullptr, 0);
}

std::shared_ptr<const ByteSource> borrowed_source(std::string name, const uint8_t* data, size_t size) {
  return std::make_shared<MemorySource>(std::move(name), std::vector<uint8_t>{}, data, size);
}

}  // namespace fulgur::serialize
