#include "fulgur/data/idx.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/inflate.h"

namespace fulgur::data {
namespace {

using serialize::ByteSource;
using serialize::InflateStream;

uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

struct Header {
  DType dtype;
  Shape sizes;
  uint64_t header_bytes;  // 4 + 4 * ndim
  uint64_t payload_bytes;
};

DType idx_dtype(uint8_t code, const std::string& name) {
  switch (code) {
    case 0x08: return kUInt8;
    case 0x09: return kInt8;
    case 0x0B: return kInt16;
    case 0x0C: return kInt32;
    case 0x0D: return kFloat32;
    case 0x0E: return kFloat64;
    default: break;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", code);
  FULGUR_FAIL("idx", "'", name, "': unknown element type ", buf,
              " in the magic number (expected 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, ",
              "0x0D float or 0x0E double)");
}

void check_magic(const uint8_t* m, const std::string& name) {
  if (m[0] != 0 || m[1] != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02x %02x %02x %02x", m[0], m[1], m[2], m[3]);
    FULGUR_FAIL("idx", "'", name, "': bad magic number ", buf,
                " (an IDX file starts with 00 00 <type> <ndim>): not an IDX file");
  }
}

// sizes -> payload bytes, overflow-checked. The product of the sizes with zeros counted as 1
// must fit too: a tensor's strides are those products (a [0, 2^32, 2^32] tensor has no
// representable strides).
void finish_header(Header& h, const std::string& name) {
  uint64_t n = 1, strides = 1;
  bool overflow = false;
  for (const int64_t s : h.sizes) {
    const auto u = static_cast<uint64_t>(s);
    if (__builtin_mul_overflow(n, u, &n)) overflow = true;
    if (__builtin_mul_overflow(strides, std::max<uint64_t>(u, 1), &strides)) overflow = true;
  }
  const uint64_t item = element_size(h.dtype);
  FULGUR_CHECK(!overflow && strides <= static_cast<uint64_t>(INT64_MAX) / item, "idx", "'", name,
               "': sizes ", shape_str(h.sizes),
               " overflow: the product of the sizes is too large (corrupt header)");
  h.payload_bytes = n * item;
}

std::string header_str(const Header& h) {
  return std::string("sizes ") + shape_str(h.sizes) + " of " + std::string(dtype_name(h.dtype));
}

// Big-endian elements -> native, in place.
void to_native(Tensor& t) {
  const size_t item = t.element_size();
  if (item == 1) return;
  auto* p = static_cast<uint8_t*>(t.data_ptr());
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i, p += item) std::reverse(p, p + item);
}

Tensor read_plain(const ByteSource& src) {
  const std::string& name = src.name();
  const uint64_t size = src.size();
  FULGUR_CHECK(size >= 4, "idx", "'", name, "': truncated: ", size,
               " bytes is shorter than the 4-byte magic number");
  uint8_t magic[4];
  src.read(0, magic, 4);
  check_magic(magic, name);
  Header h{idx_dtype(magic[2], name), {}, 4 + 4ull * magic[3], 0};
  FULGUR_CHECK(size >= h.header_bytes, "idx", "'", name, "': truncated: the header declares ",
               int(magic[3]), " dimensions (", h.header_bytes, " header bytes) but the file has ",
               size, " bytes");
  std::vector<uint8_t> dims(h.header_bytes - 4);
  src.read(4, dims.data(), dims.size());
  for (size_t d = 0; d < magic[3]; ++d) h.sizes.push_back(be32(dims.data() + 4 * d));
  finish_header(h, name);
  const uint64_t have = size - h.header_bytes;
  FULGUR_CHECK(have == h.payload_bytes, "idx", "'", name, "': the header declares ",
               header_str(h), " (", h.payload_bytes, " bytes of data) but the file has ", have,
               " bytes after the header", have < h.payload_bytes ? " (truncated)" : " (trailing data)");
  Tensor t = make_tensor(h.sizes, h.dtype, kCPU);
  src.read(h.header_bytes, t.data_ptr(), static_cast<size_t>(h.payload_bytes));
  to_native(t);
  return t;
}

Tensor read_gzip(const ByteSource& src) {
  const std::string& name = src.name();
  const uint64_t size = src.size();
  // Header first, decompressed piece by piece.
  Header h{};
  auto open = [&] {
    return std::make_unique<InflateStream>(src, 0, size, InflateStream::Format::Gzip, "idx",
                                           "gzip stream");
  };
  auto stream = open();
  uint8_t magic[4];
  stream->read_exact(magic, 4);
  check_magic(magic, name);
  h.dtype = idx_dtype(magic[2], name);
  h.header_bytes = 4 + 4ull * magic[3];
  std::vector<uint8_t> dims(h.header_bytes - 4);
  stream->read_exact(dims.data(), dims.size());
  for (size_t d = 0; d < magic[3]; ++d) h.sizes.push_back(be32(dims.data() + 4 * d));
  finish_header(h, name);

  const uint64_t total = h.header_bytes + h.payload_bytes;
  FULGUR_CHECK(total <= serialize::max_inflated_size(size), "idx", "'", name,
               "': the header declares ", header_str(h), " (", h.payload_bytes,
               " bytes), more than a ", size, "-byte gzip file can hold (corrupt header)");
  // The gzip trailer's ISIZE is the decompressed length mod 2^32 (of the last member). When it
  // disagrees, count the real length (no allocation) to report it, or to accept a
  // multi-member file whose total is right.
  uint8_t trailer[4] = {0, 0, 0, 0};
  if (size >= 4) src.read(size - 4, trailer, 4);
  const uint32_t isize = static_cast<uint32_t>(trailer[0]) | static_cast<uint32_t>(trailer[1]) << 8 |
                         static_cast<uint32_t>(trailer[2]) << 16 | static_cast<uint32_t>(trailer[3]) << 24;
  if (isize != static_cast<uint32_t>(total)) {
    const uint64_t actual = open()->drain();
    FULGUR_CHECK(actual == total, "idx", "'", name, "': the header declares ", header_str(h),
                 " (", h.payload_bytes, " bytes of data) but the decompressed file has ",
                 actual - std::min(actual, h.header_bytes), " bytes after the header",
                 actual < total ? " (truncated)" : " (trailing data)");
  }
  Tensor t = make_tensor(h.sizes, h.dtype, kCPU);
  uint8_t* out = static_cast<uint8_t*>(t.data_ptr());
  try {
    stream->read_exact(out, static_cast<size_t>(h.payload_bytes));
    stream->expect_end();
  } catch (const Error& e) {
    FULGUR_FAIL("idx", "'", name, "': reading the ", h.payload_bytes, " bytes of data the header declares (",
                header_str(h), ") failed: ", e.what());
  }
  to_native(t);
  return t;
}

}  // namespace

Tensor read_idx(const serialize::ByteSource& source) {
  uint8_t head[2] = {0, 0};
  if (source.size() >= 2) source.read(0, head, 2);
  return head[0] == 0x1f && head[1] == 0x8b ? read_gzip(source) : read_plain(source);
}

Tensor read_idx(const std::string& path) { return read_idx(*serialize::open_file(path, "idx")); }

}  // namespace fulgur::data
