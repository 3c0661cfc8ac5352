// The checkpoint unpickler on arbitrary bytes (what data.pkl holds), with storages of the
// requested size up to 1 MiB (larger requests are rejected as a real file would be, by the
// size of its record).
#include <memory>

#include "fulgur/serialize/pickle_reader.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fulgur::serialize::StorageLoader loader = [](const fulgur::serialize::StorageRequest& r) {
    const uint64_t nbytes = static_cast<uint64_t>(r.numel) * fulgur::element_size(r.dtype);
    FULGUR_CHECK(r.numel <= (1 << 20) && nbytes <= (1 << 20), "fuzz", "storage too large");
    return std::make_shared<fulgur::StorageImpl>(static_cast<size_t>(nbytes), fulgur::kCPU);
  };
  fulgur::fuzz::expect_only_errors([&] { fulgur::serialize::unpickle(data, size, loader, "fuzz: data.pkl"); });
  return 0;
}
