// InflateStream: zlib decompression of a byte range of a ByteSource, pulled in exact-sized
// pieces, so that a reader can decode a header first, check the sizes it declares, and only
// then allocate the destination and decompress straight into it.
//
// Raw deflate is what zip entries hold; gzip is the .gz file format (RFC 1952: zlib checks
// the CRC-32 and the length of each member). Every failure throws fulgur::Error starting
// with "<op>: '<source>': <what>: ", e.g. "idx: 'x.gz': gzip stream: truncated".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fulgur/serialize/byte_source.h"

namespace fulgur::serialize {

// The deflate format cannot expand data by more than ~1032:1, so a declared decompressed
// size above this bound for `compressed` input bytes is corrupt (checked before allocating).
uint64_t max_inflated_size(uint64_t compressed);

class InflateStream {
 public:
  enum class Format { Raw, Gzip };

  // Decompresses source bytes [offset, offset + length). `what` names the stream in errors
  // ("entry 'arr_0.npy'", "gzip stream").
  InflateStream(const ByteSource& source, uint64_t offset, uint64_t length, Format format,
                const char* op, std::string what);
  ~InflateStream();
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  // Fills out[0, n) or throws (stream ends first: "truncated"; corrupt data: zlib's message).
  void read_exact(void* out, size_t n);
  // Requires the decompressed data to end here: throws if more data follows or the stream is
  // incomplete (missing end marker, gzip trailer, or trailing garbage after a gzip member).
  // Gzip: further members are decoded as a continuation (RFC 1952 allows concatenation).
  void expect_end();
  // Decompresses and discards everything left; returns how many bytes that was, plus what
  // was already read. Throws if the stream is corrupt or truncated.
  uint64_t drain();
  // Up to n bytes into out; fewer only at the end of the data (0: the end). Throws if the
  // stream is corrupt or truncated.
  size_t read_some(void* out, size_t n) { return pull(out, n); }
  uint64_t total_out() const { return total_out_; }

 private:
  size_t pull(void* out, size_t n);
  [[noreturn]] void fail(const std::string& problem) const;

  struct State;
  std::unique_ptr<State> state_;
  const ByteSource& source_;
  uint64_t next_in_;   // next source offset to feed
  uint64_t end_in_;
  Format format_;
  const char* op_;
  std::string what_;
  uint64_t total_out_ = 0;
  bool finished_ = false;  // the last member's end was reached and nothing follows
};

// One-shot helpers over memory (tests, small buffers).
std::string gzip_compress(const std::string& data, int level = 6);

}  // namespace fulgur::serialize
