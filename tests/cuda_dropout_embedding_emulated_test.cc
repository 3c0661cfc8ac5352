// Dropout and embedding kernels (kernels/cuda/dropout.cuh, embedding.cuh) through the SIMT emulator: dropout
// gives the CPU's mask and values bit for bit for the same Generator state; embedding forward
// and backward equal the CPU nn::functional::embedding and its autograd (padding_idx too).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "fulgur/kernels/cuda/dropout.h"
#include "fulgur/kernels/cuda/embedding.h"
#include "fulgur/nn/functional/dropout.h"
#include "fulgur/nn/functional/embedding.h"
#include "fulgur/tensor/generator.h"
#include "fulgur/tests/test_util.h"
#include "tests/cuda_reference.h"

using fulgur::cuda::Exec;
using fulgur::testing::compare;

TEST_CASE("cuda dropout (emulated): the CPU's mask and values for the same generator state") {
  std::mt19937 rng(19);
  for (double p : {0.1, 0.5, 0.9, 1.0}) {
    for (int64_t n : {1, 100, 5000}) {
      CAPTURE(p);
      CAPTURE(n);
      const auto x = fulgur::testing::random_floats(static_cast<size_t>(n), rng);
      fulgur::Generator cpu_gen(1234), kernel_gen(1234);
      cpu_gen.reserve(77);  // a used generator: the offset matters
      kernel_gen.reserve(77);
      const fulgur::Tensor cpu =
          fulgur::nn::functional::dropout(fulgur::from_vector(x, fulgur::Shape{n}), p, true, false, &cpu_gen);
      // p == 1 draws nothing (PyTorch returns zeros without touching the generator).
      const fulgur::Generator::Draw draw =
          p < 1.0 ? kernel_gen.reserve(static_cast<uint64_t>(n)) : fulgur::Generator::Draw{0, 0};
      std::vector<float> y(static_cast<size_t>(n), -1.0f), dx(y);
      std::vector<uint8_t> mask(static_cast<size_t>(n), 7);
      fulgur::cuda::dropout_forward<Exec::Emulated>(x.data(), y.data(), mask.data(), n, p, draw.seed, draw.offset,
                                                    nullptr);
      const auto expected = fulgur::testing::values(cpu);
      int64_t kept = 0;
      for (size_t i = 0; i < y.size(); ++i) {
        REQUIRE(y[i] == static_cast<float>(expected[i]));
        REQUIRE(mask[i] == (expected[i] != 0.0 ? 1 : 0));
        kept += mask[i];
      }
      if (n == 5000 && p < 1.0) CHECK(std::abs(static_cast<double>(kept) / n - (1 - p)) < 0.05);
      if (p == 1.0) CHECK(kept == 0);
      CHECK(cpu_gen.offset() == kernel_gen.offset());
      fulgur::cuda::dropout_backward<Exec::Emulated>(x.data(), mask.data(), dx.data(), n, p, nullptr);
      CHECK(dx == y);  // dy = x gives the forward's values again
    }
  }
  std::vector<float> one(1);
  std::vector<uint8_t> m(1);
  CHECK_THROWS_AS(fulgur::cuda::dropout_forward<Exec::Emulated>(one.data(), one.data(), m.data(), 1, 1.5, 0, 0, nullptr),
                  fulgur::Error);
}

TEST_CASE("cuda embedding (emulated): forward and the deterministic backward equal the CPU autograd") {
  std::mt19937 rng(23);
  const int64_t rows = 50;
  for (int64_t dim : {1, 7, 300}) {
    for (int64_t padding : {-1, 3}) {
      CAPTURE(dim);
      CAPTURE(padding);
      const auto weight = fulgur::testing::random_floats(static_cast<size_t>(rows * dim), rng);
      std::uniform_int_distribution<int64_t> pick(0, rows - 1);
      std::vector<int64_t> index(37);
      for (auto& i : index) i = pick(rng);
      index[5] = index[9] = 3;  // repeats, and the padding row
      const auto n = static_cast<int64_t>(index.size());
      const auto dout = fulgur::testing::random_floats(static_cast<size_t>(n * dim), rng);
      std::vector<float> out(static_cast<size_t>(n * dim), -1.0f), dweight(static_cast<size_t>(rows * dim), -1.0f);
      int bad = 0;
      fulgur::cuda::embedding_forward<Exec::Emulated>(index.data(), weight.data(), out.data(), n, rows, dim, &bad,
                                                      nullptr);
      fulgur::cuda::embedding_backward<Exec::Emulated>(index.data(), dout.data(), dweight.data(), n, rows, dim, padding,
                                                       nullptr);
      CHECK(bad == 0);
      fulgur::Tensor w = fulgur::from_vector(weight, fulgur::Shape{rows, dim}).requires_grad_(true);
      fulgur::nn::functional::EmbeddingFuncOptions o;
      if (padding >= 0) o.padding_idx = padding;
      const fulgur::Tensor cpu = fulgur::nn::functional::embedding(fulgur::from_vector(index, fulgur::Shape{n}), w, o);
      cpu.backward(fulgur::from_vector(dout, fulgur::Shape{n, dim}));
      CHECK(compare(out, fulgur::testing::values(cpu), 0, 0) == "");
      CHECK(compare(dweight, fulgur::testing::values(w.grad()), 1e-6, 1e-6) == "");
    }
  }
  std::vector<int64_t> bad_index = {0, 50};
  std::vector<float> weight(100), out(4);
  int bad = 0;
  fulgur::cuda::embedding_forward<Exec::Emulated>(bad_index.data(), weight.data(), out.data(), 2, 50, 2, &bad, nullptr);
  CHECK(bad == 2);
  CHECK(std::isnan(out[2]));
}
