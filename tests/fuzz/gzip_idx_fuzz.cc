// IDX reader behind a valid gzip layer: the input (after two control bytes) is the IDX
// content, gzip-compressed here so that mutations reach the IDX parser through the inflate
// path, then optionally damaged:
//   data[0] % 4 == 0: as is; 1: the last data[1] bytes cut off (incomplete .gz);
//   2: data[1] garbage bytes appended; 3: one byte at position data[1] * 7 flipped.
#include <string>

#include "fulgur/data/idx.h"
#include "fulgur/serialize/inflate.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int mode = data[0] % 4;
  const size_t arg = data[1];
  std::string gz = fulgur::serialize::gzip_compress(
      std::string(reinterpret_cast<const char*>(data + 2), size - 2), 1 + data[0] / 4 % 9);
  if (mode == 1) gz.resize(gz.size() - std::min(gz.size(), arg));
  if (mode == 2) gz.append(arg, static_cast<char>(arg));
  if (mode == 3 && !gz.empty()) gz[(arg * 7) % gz.size()] ^= 0x5a;
  const auto src = fulgur::serialize::borrowed_source(
      "fuzz.idx.gz", reinterpret_cast<const uint8_t*>(gz.data()), gz.size());
  fulgur::fuzz::expect_only_errors([&] { fulgur::data::read_idx(*src); });
  return 0;
}
