// IDX reader on arbitrary bytes: plain IDX, and gzip when the input starts with 1f 8b.
#include "fulgur/data/idx.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto src = fulgur::serialize::borrowed_source("fuzz.idx", data, size);
  fulgur::fuzz::expect_only_errors([&] { fulgur::data::read_idx(*src); });
  return 0;
}
