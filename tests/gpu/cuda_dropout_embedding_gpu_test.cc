// Dropout and embedding on a real GPU against their emulated builds (themselves checked
// against the CPU): dropout's mask and values bit for bit (one Philox draw and one multiply
// per element), embedding forward and the fixed-order backward bit for bit.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "fulgur/kernels/cuda/runtime.h"
#include "tests/gpu/skip_without_gpu.h"
#include "tests/cuda_reference.h"
#if FULGUR_WITH_CUDA
#include "fulgur/kernels/cuda/device_buffer.h"
#include "fulgur/kernels/cuda/dropout.h"
#include "fulgur/kernels/cuda/embedding.h"
#endif

TEST_CASE("gpu dropout and embedding equal the emulated kernels bit for bit") {
  FULGUR_SKIP_WITHOUT_GPU();
#if FULGUR_WITH_CUDA
  using fulgur::cuda::DeviceBuffer;
  using fulgur::cuda::Exec;
  std::mt19937 rng(41);
  for (int64_t n : {1, 1000, 1 << 22}) {
    CAPTURE(n);
    const auto x = fulgur::testing::random_floats(static_cast<size_t>(n), rng);
    std::vector<float> y(x.size());
    std::vector<uint8_t> mask(x.size());
    fulgur::cuda::dropout_forward<Exec::Emulated>(x.data(), y.data(), mask.data(), n, 0.3, 99, 12345, nullptr);
    auto X = DeviceBuffer::from(x);
    DeviceBuffer Y(x.size() * 4), M(x.size());
    Y.fill_bytes(0xFF);
    fulgur::cuda::dropout_forward<Exec::Gpu>(X.as<float>(), Y.as<float>(), M.as<uint8_t>(), n, 0.3, 99, 12345, nullptr);
    fulgur::cuda::synchronize("dropout");
    CHECK(Y.to_host<float>() == y);
    CHECK(M.to_host<uint8_t>() == mask);
  }
  const int64_t rows = 1000, dim = 256, n = 4096;
  const auto weight = fulgur::testing::random_floats(static_cast<size_t>(rows * dim), rng);
  std::uniform_int_distribution<int64_t> pick(0, rows - 1);
  std::vector<int64_t> index(static_cast<size_t>(n));
  for (auto& i : index) i = pick(rng);
  const auto dout = fulgur::testing::random_floats(static_cast<size_t>(n * dim), rng);
  std::vector<float> out(static_cast<size_t>(n * dim)), dw(static_cast<size_t>(rows * dim));
  fulgur::cuda::embedding_forward<Exec::Emulated>(index.data(), weight.data(), out.data(), n, rows, dim, nullptr, nullptr);
  fulgur::cuda::embedding_backward<Exec::Emulated>(index.data(), dout.data(), dw.data(), n, rows, dim, 7, nullptr);
  auto I = DeviceBuffer::from(index), W = DeviceBuffer::from(weight), DO = DeviceBuffer::from(dout);
  DeviceBuffer O(out.size() * 4), DW(dw.size() * 4);
  O.fill_bytes(0xFF);
  DW.fill_bytes(0xFF);
  fulgur::cuda::embedding_forward<Exec::Gpu>(I.as<int64_t>(), W.as<float>(), O.as<float>(), n, rows, dim, nullptr, nullptr);
  fulgur::cuda::embedding_backward<Exec::Gpu>(I.as<int64_t>(), DO.as<float>(), DW.as<float>(), n, rows, dim, 7, nullptr);
  fulgur::cuda::synchronize("embedding");
  CHECK(O.to_host<float>() == out);
  CHECK(DW.to_host<float>() == dw);
#endif
}
