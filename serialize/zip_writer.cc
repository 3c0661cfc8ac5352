#include "fulgur/serialize/zip_writer.h"

#include <zlib.h>

#include <limits>
#include <unordered_set>

#include "fulgur/kernels/error.h"

namespace fulgur::serialize {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr uint32_t k32Max = 0xFFFFFFFFu;
constexpr uint16_t k16Max = 0xFFFFu;
constexpr uint16_t kFlagUtf8 = 0x0800;  // names are UTF-8
constexpr uint16_t kDosDate1980 = (1 << 5) | 1;  // 1980-01-01: fixed, so files are reproducible
constexpr uint16_t kMadeByUnix = 0x0300;

class Bytes {
 public:
  void u16(uint16_t v) {
    s_.push_back(static_cast<char>(v & 0xFF));
    s_.push_back(static_cast<char>(v >> 8));
  }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  void raw(std::string_view v) { s_.append(v); }
  void fill(char c, size_t n) { s_.append(n, c); }
  size_t size() const { return s_.size(); }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

uint32_t crc32_of(const void* data, size_t n) {
  return static_cast<uint32_t>(
      crc32_z(crc32_z(0L, Z_NULL, 0), static_cast<const Bytef*>(data), n));
}

}  // namespace

ZipWriter::ZipWriter(Sink sink, Options options) : sink_(std::move(sink)), options_(options) {
  FULGUR_CHECK(options_.alignment > 0 && (options_.alignment & (options_.alignment - 1)) == 0 &&
                   options_.alignment <= 0x8000,
               "ZipWriter", "alignment must be a power of two up to 32768, got ",
               options_.alignment);
}

void ZipWriter::emit(const void* data, size_t n) {
  if (n == 0) return;
  sink_(data, n);
  offset_ += n;
}

void ZipWriter::add(std::string_view name, const void* data, size_t n) {
  FULGUR_CHECK(!finished_, "ZipWriter", "add('", name, "') after finish()");
  FULGUR_CHECK(!name.empty() && name.size() <= k16Max, "ZipWriter", "entry name length ",
               name.size(), " is not in [1, 65535]");
  for (const Entry& e : entries_) {
    FULGUR_CHECK(e.name != name, "ZipWriter", "duplicate entry '", name, "'");
  }
  const uint64_t size = n;
  const bool zip64 = options_.force_zip64 || size >= k32Max;
  Entry entry{std::string(name), size, crc32_of(data, n), offset_, zip64};

  Bytes h;
  h.u32(kLocalSig);
  h.u16(zip64 ? 45 : 20);
  h.u16(kFlagUtf8);
  h.u16(0);  // stored
  h.u16(0);  // time
  h.u16(kDosDate1980);
  h.u32(entry.crc);
  h.u32(zip64 ? k32Max : static_cast<uint32_t>(size));
  h.u32(zip64 ? k32Max : static_cast<uint32_t>(size));
  const uint64_t zip64_extra = zip64 ? 4 + 16 : 0;
  // Data starts after the fixed header, the name, the zip64 extra and the 4-byte header of
  // the padding field; pad that up to the alignment.
  const uint64_t unpadded = offset_ + 30 + name.size() + zip64_extra + 4;
  const uint64_t pad = (options_.alignment - unpadded % options_.alignment) % options_.alignment;
  h.u16(static_cast<uint16_t>(name.size()));
  h.u16(static_cast<uint16_t>(zip64_extra + 4 + pad));
  h.raw(name);
  if (zip64) {
    h.u16(0x0001);
    h.u16(16);
    h.u64(size);
    h.u64(size);
  }
  h.raw("FB");
  h.u16(static_cast<uint16_t>(pad));
  h.fill('Z', pad);
  emit(h.str().data(), h.size());
  emit(data, n);
  entries_.push_back(std::move(entry));
}

void ZipWriter::finish() {
  FULGUR_CHECK(!finished_, "ZipWriter", "finish() called twice");
  finished_ = true;
  const uint64_t cd_offset = offset_;
  for (const Entry& e : entries_) {
    const bool big_size = e.zip64 || e.size >= k32Max;
    const bool big_offset = options_.force_zip64 || e.header_offset >= k32Max;
    Bytes extra;
    if (big_size || big_offset) {
      extra.u16(0x0001);
      extra.u16(static_cast<uint16_t>((big_size ? 16 : 0) + (big_offset ? 8 : 0)));
      if (big_size) {
        extra.u64(e.size);
        extra.u64(e.size);
      }
      if (big_offset) extra.u64(e.header_offset);
    }
    Bytes h;
    h.u32(kCentralSig);
    h.u16(kMadeByUnix | ((big_size || big_offset) ? 45 : 20));
    h.u16((big_size || big_offset) ? 45 : 20);
    h.u16(kFlagUtf8);
    h.u16(0);
    h.u16(0);
    h.u16(kDosDate1980);
    h.u32(e.crc);
    h.u32(big_size ? k32Max : static_cast<uint32_t>(e.size));
    h.u32(big_size ? k32Max : static_cast<uint32_t>(e.size));
    h.u16(static_cast<uint16_t>(e.name.size()));
    h.u16(static_cast<uint16_t>(extra.size()));
    h.u16(0);  // comment
    h.u16(0);  // disk
    h.u16(0);  // internal attributes
    h.u32(0100644u << 16);  // external attributes: a regular file, rw-r--r--
    h.u32(big_offset ? k32Max : static_cast<uint32_t>(e.header_offset));
    h.raw(e.name);
    h.raw(extra.str());
    emit(h.str().data(), h.size());
  }
  const uint64_t cd_size = offset_ - cd_offset;
  const uint64_t count = entries_.size();
  const bool zip64 = options_.force_zip64 || count >= k16Max || cd_offset >= k32Max ||
                     cd_size >= k32Max;
  Bytes t;
  if (zip64) {
    const uint64_t end64_offset = offset_;
    t.u32(kEnd64Sig);
    t.u64(44);  // size of the rest of this record
    t.u16(kMadeByUnix | 45);
    t.u16(45);
    t.u32(0);  // this disk
    t.u32(0);  // disk with the central directory
    t.u64(count);
    t.u64(count);
    t.u64(cd_size);
    t.u64(cd_offset);
    t.u32(kEnd64LocatorSig);
    t.u32(0);
    t.u64(end64_offset);
    t.u32(1);  // total disks
  }
  t.u32(kEndSig);
  t.u16(0);
  t.u16(0);
  t.u16(zip64 ? k16Max : static_cast<uint16_t>(count));
  t.u16(zip64 ? k16Max : static_cast<uint16_t>(count));
  t.u32(zip64 ? k32Max : static_cast<uint32_t>(cd_size));
  t.u32(zip64 ? k32Max : static_cast<uint32_t>(cd_offset));
  t.u16(0);  // comment
  emit(t.str().data(), t.size());
}

std::string zip_to_string(const std::vector<std::pair<std::string, std::string>>& entries,
                          ZipWriter::Options options) {
  std::string out;
  ZipWriter w([&](const void* d, size_t n) { out.append(static_cast<const char*>(d), n); },
              options);
  for (const auto& [name, bytes] : entries) w.add(name, bytes);
  w.finish();
  return out;
}

}  // namespace fulgur::serialize
