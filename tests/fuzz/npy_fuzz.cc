// .npy reader on arbitrary bytes.
#include "fulgur/data/npy.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto src = fulgur::serialize::borrowed_source("fuzz.npy", data, size);
  fulgur::fuzz::expect_only_errors([&] { fulgur::data::load_npy(*src); });
  return 0;
}
