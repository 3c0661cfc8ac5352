#include "fulgur/serialize/inflate.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "fulgur/kernels/error.h"

namespace fulgur::serialize {

uint64_t max_inflated_size(uint64_t compressed) {
  // zlib's tech notes: the best deflate ratio is 1032:1 (258-byte matches in 2 bits). Room
  // for headers and tiny streams on top.
  constexpr uint64_t kRatio = 1032, kSlack = 1024;
  if (compressed > (UINT64_MAX - kSlack) / kRatio) return UINT64_MAX;
  return compressed * kRatio + kSlack;
}

struct InflateStream::State {
  z_stream z{};
  std::vector<uint8_t> in;  // input chunk
  bool member_done = false;  // Z_STREAM_END seen for the current member
};

namespace {
constexpr size_t kChunk = 1 << 16;
}

InflateStream::InflateStream(const ByteSource& source, uint64_t offset, uint64_t length,
                             Format format, const char* op, std::string what)
    : state_(std::make_unique<State>()), source_(source), next_in_(offset),
      end_in_(offset + length), format_(format), op_(op), what_(std::move(what)) {
  FULGUR_CHECK(offset <= source.size() && length <= source.size() - offset, op_, "'",
               source.name(), "': ", what_, ": ", length, " compressed bytes at offset ", offset,
               " run past the end of the file (", source.size(), " bytes)");
  const int window = format == Format::Raw ? -MAX_WBITS : MAX_WBITS + 16;
  FULGUR_CHECK(inflateInit2(&state_->z, window) == Z_OK, op_, "'", source.name(), "': ", what_,
               ": zlib initialisation failed");
}

InflateStream::~InflateStream() { inflateEnd(&state_->z); }

void InflateStream::fail(const std::string& problem) const {
  FULGUR_FAIL(op_, "'", source_.name(), "': ", what_, ": ", problem);
}

size_t InflateStream::pull(void* out, size_t n) {
  z_stream& z = state_->z;
  auto* dst = static_cast<uint8_t*>(out);
  size_t produced = 0;
  while (produced < n && !finished_) {
    if (state_->member_done) {
      // Gzip: another member may follow; raw deflate: the data ends here.
      if (format_ == Format::Raw) {
        finished_ = true;
        break;
      }
      if (z.avail_in == 0 && next_in_ == end_in_) {
        finished_ = true;
        break;
      }
      // Peek the next member's magic to give a clear error for trailing garbage.
      const uint64_t pos = next_in_ - z.avail_in;  // first unconsumed source byte
      const uint64_t left = end_in_ - pos;
      if (left < 2) fail("trailing garbage after the end of the gzip data (1 byte)");
      uint8_t magic[2];
      source_.read(pos, magic, 2);
      if (magic[0] != 0x1f || magic[1] != 0x8b)
        fail("trailing garbage after the end of the gzip data (" + std::to_string(left) + " bytes)");
      inflateReset(&z);
      state_->member_done = false;
    }
    if (z.avail_in == 0 && next_in_ < end_in_) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(kChunk, end_in_ - next_in_));
      state_->in.resize(take);
      source_.read(next_in_, state_->in.data(), take);
      next_in_ += take;
      z.next_in = state_->in.data();
      z.avail_in = static_cast<uInt>(take);
    }
    const size_t want = std::min<size_t>(n - produced, 1u << 30);
    z.next_out = dst + produced;
    z.avail_out = static_cast<uInt>(want);
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced += want - z.avail_out;
    if (rc == Z_STREAM_END) {
      state_->member_done = true;
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && next_in_ == end_in_)
      fail(format_ == Format::Gzip
               ? "truncated: the compressed data ends before the end of the gzip stream (incomplete .gz file)"
               : "truncated: the compressed data ends before the end of the deflate stream");
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      fail(std::string("corrupt compressed data (zlib: ") + (z.msg ? z.msg : zError(rc)) + ")");
  }
  total_out_ += produced;
  return produced;
}

void InflateStream::read_exact(void* out, size_t n) {
  const size_t got = pull(out, n);
  if (got < n)
    fail("the data ends after " + std::to_string(total_out_) + " decompressed bytes, " +
         std::to_string(n - got) + " more were expected");
}

void InflateStream::expect_end() {
  uint8_t extra;
  const size_t got = pull(&extra, 1);
  if (got != 0) fail("more decompressed data than expected: it continues past byte " +
                     std::to_string(total_out_ - 1));
}

uint64_t InflateStream::drain() {
  std::vector<uint8_t> scratch(kChunk);
  while (pull(scratch.data(), scratch.size()) == scratch.size()) {
  }
  return total_out_;
}

std::string gzip_compress(const std::string& data, int level) {
  z_stream z{};
  FULGUR_CHECK(deflateInit2(&z, level, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
               "gzip_compress", "zlib initialisation failed");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  FULGUR_CHECK(rc == Z_STREAM_END, "gzip_compress", "zlib deflate failed");
  out.resize(z.total_out);
  return out;
}

}  // namespace fulgur::serialize
