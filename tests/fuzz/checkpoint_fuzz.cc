// fulgur::load on arbitrary bytes: the zip container (CRC-checked), the pickle allow-list,
// storage and tensor bounds. Most mutations fail the CRC; pickle_fuzz reaches the unpickler
// directly.
#include "fulgur/serialize/byte_source.h"
#include "fulgur/serialize/checkpoint.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fulgur::fuzz::expect_only_errors([&] {
    fulgur::serialize::load_from(fulgur::serialize::borrowed_source("fuzz.pt", data, size));
  });
  return 0;
}
