// Layout reminders (little-endian throughout):
//   local header  30 bytes + name + extra, then the data
//   central entry 46 bytes + name + extra + comment
//   EOCD          22 bytes + comment (<= 65535), at the very end
//   zip64 locator 20 bytes right before the EOCD -> zip64 EOCD record (56+ bytes)
#include "fulgur/serialize/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/inflate.h"

namespace fulgur::serialize {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr size_t kEocdSize = 22, kCentralSize = 46, kLocalSize = 30;
constexpr size_t kZip64LocatorSize = 20, kZip64EocdSize = 56;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
uint64_t u64(const uint8_t* p) { return u32(p) | static_cast<uint64_t>(u32(p + 4)) << 32; }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

ZipReader::ZipReader(const std::string& path) : source_(open_file(path, "zip")) { index(); }

ZipReader::ZipReader(std::shared_ptr<const ByteSource> source) : source_(std::move(source)) {
  FULGUR_CHECK(source_ != nullptr, "zip", "null source");
  index();
}

void ZipReader::fail(const std::string& problem) const {
  FULGUR_FAIL("zip", "'", source_->name(), "': ", problem);
}

void ZipReader::fail_entry(const ZipEntry& e, const std::string& problem) const {
  FULGUR_FAIL("zip", "'", source_->name(), "': entry '", printable(e.name, 200), "': ", problem);
}

void ZipReader::index() {
  const uint64_t file_size = source_->size();
  if (file_size < kEocdSize)
    fail("not a zip file: " + std::to_string(file_size) +
         " bytes is shorter than an end-of-central-directory record (22 bytes)");

  // The EOCD is the last 22 bytes plus a comment of up to 65535 bytes: search backwards for
  // its signature, taking the last one whose comment length fits the file.
  const uint64_t tail_len = std::min<uint64_t>(file_size, kEocdSize + 0xffff);
  const std::vector<uint8_t> tail = source_->read_vector(file_size - tail_len, tail_len);
  int64_t found = -1;
  for (int64_t i = static_cast<int64_t>(tail_len - kEocdSize); i >= 0; --i) {
    const uint8_t* p = tail.data() + i;
    if (u32(p) == kEocdSig && static_cast<uint64_t>(i) + kEocdSize + u16(p + 20) <= tail_len) {
      found = i;
      break;
    }
  }
  if (found < 0) fail("not a zip file: no end-of-central-directory record (truncated, or not a zip archive)");
  const uint64_t eocd_pos = file_size - tail_len + static_cast<uint64_t>(found);
  const uint8_t* eocd = tail.data() + found;
  uint64_t disk = u16(eocd + 4), cd_disk = u16(eocd + 6);
  uint64_t count_disk = u16(eocd + 8), count = u16(eocd + 10);
  uint64_t cd_size = u32(eocd + 12), cd_offset = u32(eocd + 16);
  uint64_t cd_limit = eocd_pos;  // the central directory must end before this

  // Zip64: a locator right before the EOCD points at the zip64 EOCD record, whose 64-bit
  // fields replace the 16/32-bit ones.
  if (eocd_pos >= kZip64LocatorSize) {
    uint8_t loc[kZip64LocatorSize];
    source_->read(eocd_pos - kZip64LocatorSize, loc, sizeof loc);
    if (u32(loc) == kZip64LocatorSig) {
      const uint64_t rec_pos = u64(loc + 8);
      if (u32(loc + 4) != 0 || u32(loc + 16) > 1) fail("multi-disk (split) archives are not supported");
      if (rec_pos > eocd_pos - kZip64LocatorSize ||
          eocd_pos - kZip64LocatorSize - rec_pos < kZip64EocdSize)
        fail("zip64 end-of-central-directory locator points at offset " + std::to_string(rec_pos) +
             ", outside the file (corrupt or truncated)");
      uint8_t rec[kZip64EocdSize];
      source_->read(rec_pos, rec, sizeof rec);
      if (u32(rec) != kZip64EocdSig)
        fail("no zip64 end-of-central-directory record at offset " + std::to_string(rec_pos) +
             " (bad signature " + hex32(u32(rec)) + ")");
      disk = u32(rec + 16);
      cd_disk = u32(rec + 20);
      count_disk = u64(rec + 24);
      count = u64(rec + 32);
      cd_size = u64(rec + 40);
      cd_offset = u64(rec + 48);
      cd_limit = rec_pos;
    }
  }
  if (disk != 0 || cd_disk != 0 || count_disk != count)
    fail("multi-disk (split) archives are not supported");
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset)
    fail("central directory (offset " + std::to_string(cd_offset) + ", " + std::to_string(cd_size) +
         " bytes) does not fit before the end record at offset " + std::to_string(cd_limit) +
         " (truncated or corrupt)");
  if (count > cd_size / kCentralSize)
    fail("the end record declares " + std::to_string(count) + " entries, but a " +
         std::to_string(cd_size) + "-byte central directory holds at most " +
         std::to_string(cd_size / kCentralSize));
  central_directory_offset_ = cd_offset;

  const std::vector<uint8_t> cd = source_->read_vector(cd_offset, static_cast<size_t>(cd_size));
  entries_.reserve(static_cast<size_t>(count));
  std::unordered_set<std::string> seen;
  size_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string where = "central directory entry " + std::to_string(i);
    if (cd.size() - pos < kCentralSize) fail(where + " runs past the end of the central directory");
    const uint8_t* p = cd.data() + pos;
    if (u32(p) != kCentralSig) fail(where + ": bad signature " + hex32(u32(p)));
    const size_t name_len = u16(p + 28), extra_len = u16(p + 30), comment_len = u16(p + 32);
    if (cd.size() - pos - kCentralSize < name_len + extra_len + comment_len)
      fail(where + ": name/extra/comment fields run past the end of the central directory");
    ZipEntry e;
    e.flags = u16(p + 8);
    e.method = u16(p + 10);
    e.crc32 = u32(p + 16);
    e.compressed_size = u32(p + 20);
    e.uncompressed_size = u32(p + 24);
    uint64_t start_disk = u16(p + 34);
    e.local_header_offset = u32(p + 42);
    e.name.assign(reinterpret_cast<const char*>(p + kCentralSize), name_len);

    // Zip64 extended information (header id 1): the 64-bit values, present only for the
    // fields whose 32-bit slot is saturated, in this order.
    const uint8_t* extra = p + kCentralSize + name_len;
    size_t x = 0;
    bool zip64_seen = false;
    while (extra_len - x >= 4) {
      const uint16_t id = u16(extra + x), len = u16(extra + x + 2);
      if (extra_len - x - 4 < len) fail_entry(e, "extra field runs past its declared length");
      if (id == 0x0001 && !zip64_seen) {
        zip64_seen = true;
        const uint8_t* z = extra + x + 4;
        size_t zlen = len;
        auto take64 = [&](uint64_t& field, const char* what) {
          if (zlen < 8) fail_entry(e, std::string("zip64 extra field lacks the 64-bit ") + what);
          field = u64(z);
          z += 8;
          zlen -= 8;
        };
        if (e.uncompressed_size == 0xffffffffu) take64(e.uncompressed_size, "uncompressed size");
        if (e.compressed_size == 0xffffffffu) take64(e.compressed_size, "compressed size");
        if (e.local_header_offset == 0xffffffffu) take64(e.local_header_offset, "local header offset");
        if (start_disk == 0xffff) {
          if (zlen < 4) fail_entry(e, "zip64 extra field lacks the disk number");
          start_disk = u32(z);
        }
      }
      x += 4 + static_cast<size_t>(len);
    }
    if (start_disk != 0) fail_entry(e, "starts on disk " + std::to_string(start_disk) +
                                           ": multi-disk archives are not supported");
    if (e.flags & 0x1) fail_entry(e, "is encrypted (not supported)");
    if (e.method != 0 && e.method != 8)
      fail_entry(e, "compression method " + std::to_string(e.method) +
                        " is not supported (only 0 = stored and 8 = deflate)");
    if (e.local_header_offset > cd_offset || cd_offset - e.local_header_offset < kLocalSize)
      fail_entry(e, "local header offset " + std::to_string(e.local_header_offset) +
                        " is not before the central directory (offset " + std::to_string(cd_offset) + ")");
    if (e.compressed_size > cd_offset - e.local_header_offset - kLocalSize)
      fail_entry(e, "compressed size " + std::to_string(e.compressed_size) +
                        " runs past the start of the central directory");
    if (e.method == 0 && e.compressed_size != e.uncompressed_size)
      fail_entry(e, "stored (uncompressed) but its sizes differ: " + std::to_string(e.compressed_size) +
                        " vs " + std::to_string(e.uncompressed_size));
    if (e.method == 8 && e.uncompressed_size > max_inflated_size(e.compressed_size))
      fail_entry(e, "declares " + std::to_string(e.uncompressed_size) + " bytes uncompressed, more than " +
                        std::to_string(e.compressed_size) + " deflated bytes can hold");
    if (!seen.insert(e.name).second) fail_entry(e, "appears twice in the archive");
    entries_.push_back(std::move(e));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(std::string_view entry_name) const {
  for (const ZipEntry& e : entries_)
    if (e.name == entry_name) return &e;
  return nullptr;
}

const ZipEntry& ZipReader::at(std::string_view entry_name) const {
  if (const ZipEntry* e = find(entry_name)) return *e;
  std::string names;
  for (size_t i = 0; i < entries_.size() && i < 10; ++i)
    names += (i ? ", '" : "'") + printable(entries_[i].name, 200) + "'";
  if (entries_.size() > 10) names += ", ...";
  fail("no entry named '" + printable(entry_name, 200) + "'; the archive has " +
       std::to_string(entries_.size()) + " entries: " + names);
}

uint64_t ZipReader::data_offset(const ZipEntry& e) const {
  uint8_t h[kLocalSize];
  source_->read(e.local_header_offset, h, sizeof h);
  if (u32(h) != kLocalSig)
    fail_entry(e, "no local header at offset " + std::to_string(e.local_header_offset) +
                      " (bad signature " + hex32(u32(h)) + ")");
  const uint64_t name_len = u16(h + 26), extra_len = u16(h + 28);
  const uint64_t start = e.local_header_offset + kLocalSize + name_len + extra_len;
  if (start > central_directory_offset_ || e.compressed_size > central_directory_offset_ - start)
    fail_entry(e, "data (" + std::to_string(e.compressed_size) + " bytes at offset " + std::to_string(start) +
                      ") overlaps the central directory (corrupt local header)");
  if (name_len != e.name.size()) fail_entry(e, "local header and central directory disagree on the name");
  std::string local_name(name_len, '\0');
  source_->read(e.local_header_offset + kLocalSize, local_name.data(), name_len);
  if (local_name != e.name)
    fail_entry(e, "local header names '" + printable(local_name, 200) + "' instead");
  return start;
}

void ZipReader::read_into(const ZipEntry& e, void* out, uint64_t size) const {
  if (size != e.uncompressed_size)
    fail_entry(e, "destination holds " + std::to_string(size) + " bytes, the entry " +
                      std::to_string(e.uncompressed_size));
  const uint64_t start = data_offset(e);
  if (e.method == 0) {
    source_->read(start, out, static_cast<size_t>(size));
  } else {
    InflateStream s(*source_, start, e.compressed_size, InflateStream::Format::Raw, "zip",
                    "entry '" + printable(e.name, 200) + "'");
    s.read_exact(out, static_cast<size_t>(size));
    s.expect_end();
  }
  uLong crc = crc32_z(0L, Z_NULL, 0);
  crc = crc32_z(crc, static_cast<const Bytef*>(out), static_cast<z_size_t>(size));
  if (static_cast<uint32_t>(crc) != e.crc32)
    fail_entry(e, "CRC-32 mismatch: the archive says " + hex32(e.crc32) + ", the data gives " +
                      hex32(static_cast<uint32_t>(crc)) + " (corrupt data)");
}

std::vector<uint8_t> ZipReader::read(const ZipEntry& e) const {
  // Sizes were bounded by the file length (stored) or the deflate ratio (deflate) at index time.
  std::vector<uint8_t> out(static_cast<size_t>(e.uncompressed_size));
  read_into(e, out.data(), out.size());
  return out;
}

}  // namespace fulgur::serialize
