// The zip reader (every entry read and CRC-checked) and the .npz loader on arbitrary bytes.
#include "fulgur/data/npy.h"
#include "fulgur/serialize/zip_reader.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto src = fulgur::serialize::borrowed_source("fuzz.npz", data, size);
  fulgur::fuzz::expect_only_errors([&] {
    const fulgur::serialize::ZipReader zip(src);
    for (const auto& e : zip.entries()) {
      fulgur::fuzz::expect_only_errors([&] { zip.read(e); });
    }
  });
  fulgur::fuzz::expect_only_errors([&] { fulgur::data::load_npz(src); });
  return 0;
}
