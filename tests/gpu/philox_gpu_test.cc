// The device Philox stream equals the host one for the same (seed, offset).
#include <doctest/doctest.h>

#include <vector>

#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/philox.h"
#if FULGUR_WITH_CUDA
#include "fulgur/kernels/cuda/philox_kernel.h"
#endif

TEST_CASE("device Philox matches the host generator") {
  if (!fulgur::cuda::is_available()) {
    MESSAGE("SKIPPED (no GPU): " << fulgur::cuda::unavailable_reason());
    return;
  }
#if FULGUR_WITH_CUDA
  const int64_t n = 100000;
  std::vector<uint32_t> device(static_cast<size_t>(4 * n));
  REQUIRE(fulgur::cuda::philox_blocks(1234, 77, n, device.data()) == "");
  for (int64_t i = 0; i < n; ++i) {
    const fulgur::PhiloxBlock b = fulgur::philox4x32_10(1234, 77 + static_cast<uint64_t>(i));
    for (int w = 0; w < 4; ++w) REQUIRE(device[static_cast<size_t>(4 * i + w)] == b.v[w]);
  }
#endif
}
