// load_safetensors on arbitrary bytes: header length, JSON, dtypes, shapes, offsets.
#include "fulgur/serialize/byte_source.h"
#include "fulgur/serialize/safetensors.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fulgur::fuzz::expect_only_errors([&] {
    fulgur::serialize::load_safetensors_from(fulgur::serialize::borrowed_source("fuzz.safetensors", data, size));
  });
  return 0;
}
