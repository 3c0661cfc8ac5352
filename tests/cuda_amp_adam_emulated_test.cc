// The mixed-precision kernels (casts, unscale + non-finite check) and the fused multi-tensor
// Adam / AdamW (kernels/cuda/amp.cuh, adam.cuh) through the SIMT emulator, against the CPU:
// casts bit for bit against kernels/half.h, Adam against optim::Adam / optim::AdamW run on
// CPU tensors for several steps.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "fulgur/kernels/cuda/adam.h"
#include "fulgur/kernels/cuda/amp.h"
#include "fulgur/kernels/half.h"
#include "fulgur/optim/adam.h"
#include "fulgur/tests/test_util.h"
#include "tests/cuda_reference.h"

using fulgur::cuda::Exec;
using fulgur::cuda::HalfFormat;

namespace {

std::vector<float> special_floats(size_t n, std::mt19937& rng) {
  auto v = fulgur::testing::random_floats(n, rng, -70000.0f, 70000.0f);
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), 1e-8f, -3e-5f, 65504.0f, 65520.0f, 1e38f,
                            5.96e-8f, 2.98e-8f, 1.0009765625f};
  for (size_t i = 0; i < n && i < std::size(specials); ++i) v[i * 3 % n] = specials[i];
  return v;
}

}  // namespace

TEST_CASE("cuda casts (emulated): fp32 <-> bf16 / fp16 equal the CPU conversions bit for bit") {
  std::mt19937 rng(17);
  for (int64_t n : {1, 7, 8, 9, 64, 1000, 4099}) {
    for (HalfFormat f : {HalfFormat::BFloat16, HalfFormat::Float16}) {
      for (int offset : {0, 1}) {  // 1: misaligned, scalar path
        CAPTURE(n);
        CAPTURE(static_cast<int>(f));
        CAPTURE(offset);
        const auto src = special_floats(static_cast<size_t>(n + offset), rng);
        std::vector<uint16_t> half(static_cast<size_t>(n + offset), 0xABCD);
        fulgur::cuda::cast_to_half<Exec::Emulated>(src.data() + offset, half.data() + offset, n, f, nullptr);
        std::vector<float> back(static_cast<size_t>(n + offset), -1.0f);
        fulgur::cuda::cast_from_half<Exec::Emulated>(half.data() + offset, back.data() + offset, n, f, nullptr);
        for (int64_t i = offset; i < n + offset; ++i) {
          const auto k = static_cast<size_t>(i);
          const uint16_t expect =
              f == HalfFormat::BFloat16 ? fulgur::BFloat16(src[k]).bits : fulgur::Half(src[k]).bits;
          const float expect_back = f == HalfFormat::BFloat16 ? static_cast<float>(fulgur::BFloat16::from_bits(expect))
                                                              : static_cast<float>(fulgur::Half::from_bits(expect));
          if (std::isnan(src[k])) {
            CHECK(std::isnan(back[k]));
          } else {
            CHECK(half[k] == expect);
            CHECK(std::memcmp(&back[k], &expect_back, 4) == 0);
          }
        }
        if (offset) CHECK(half[0] == 0xABCD);
      }
    }
  }
}

TEST_CASE("cuda unscale_and_check_finite (emulated): scales every gradient, flags inf and NaN") {
  std::mt19937 rng(2);
  std::vector<std::vector<float>> grads;
  for (int64_t n : {5, 16384, 40000, 0, 3}) grads.push_back(fulgur::testing::random_floats(static_cast<size_t>(n), rng));
  for (int many = 0; many < 30; ++many) grads.push_back(fulgur::testing::random_floats(9, rng));  // > 24 tensors: 2 launches
  const auto before = grads;
  std::vector<fulgur::cuda::FloatSpan> spans;
  for (auto& g : grads) spans.push_back({g.data(), static_cast<int64_t>(g.size())});
  float found = 0.0f;
  fulgur::cuda::unscale_and_check_finite<Exec::Emulated>(spans, 0.25f, &found, nullptr);
  CHECK(found == 0.0f);
  for (size_t t = 0; t < grads.size(); ++t)
    for (size_t i = 0; i < grads[t].size(); ++i) CHECK(grads[t][i] == before[t][i] * 0.25f);
  grads[2][39999] = std::numeric_limits<float>::infinity();
  fulgur::cuda::unscale_and_check_finite<Exec::Emulated>(spans, 1.0f, &found, nullptr);
  CHECK(found == 1.0f);
  found = 0.0f;
  grads[2][39999] = 0.0f;
  grads.back()[8] = std::numeric_limits<float>::quiet_NaN();
  fulgur::cuda::unscale_and_check_finite<Exec::Emulated>(spans, 1.0f, &found, nullptr);
  CHECK(found == 1.0f);
}

TEST_CASE("cuda adam_step (emulated): Adam and AdamW match the CPU optimizers over several steps") {
  std::mt19937 rng(4);
  const std::vector<int64_t> sizes = {3, 16, 20000, 1, 4097};
  for (bool decoupled : {false, true}) {
    for (double wd : {0.0, 0.01}) {
      for (bool maximize : {false, true}) {
        CAPTURE(decoupled);
        CAPTURE(wd);
        CAPTURE(maximize);
        std::vector<fulgur::Tensor> params;
        std::vector<std::vector<float>> p, m, v;
        for (int64_t n : sizes) {
          p.push_back(fulgur::testing::random_floats(static_cast<size_t>(n), rng));
          m.emplace_back(static_cast<size_t>(n), 0.0f);
          v.emplace_back(static_cast<size_t>(n), 0.0f);
          params.push_back(fulgur::from_vector(p.back(), fulgur::Shape{n}).requires_grad_(true));
        }
        std::unique_ptr<fulgur::optim::Optimizer> cpu;
        if (decoupled) {
          cpu = std::make_unique<fulgur::optim::AdamW>(params, fulgur::optim::AdamWOptions{
                                                                   .lr = 0.01, .weight_decay = wd, .maximize = maximize});
        } else {
          cpu = std::make_unique<fulgur::optim::Adam>(params, fulgur::optim::AdamOptions{
                                                                  .lr = 0.01, .weight_decay = wd, .maximize = maximize});
        }
        for (int64_t step = 1; step <= 3; ++step) {
          std::vector<std::vector<float>> g;
          std::vector<fulgur::cuda::AdamTensor> list;
          for (size_t t = 0; t < sizes.size(); ++t) {
            g.push_back(fulgur::testing::random_floats(static_cast<size_t>(sizes[t]), rng, -1.0f, 1.0f));
            params[t].mutable_grad() = fulgur::from_vector(g.back(), fulgur::Shape{sizes[t]});
          }
          for (size_t t = 0; t < sizes.size(); ++t) list.push_back({p[t].data(), g[t].data(), m[t].data(), v[t].data(), sizes[t]});
          cpu->step();
          fulgur::cuda::AdamHyper h;
          h.lr = 0.01;
          h.weight_decay = wd;
          h.step = step;
          h.decoupled = decoupled;
          h.maximize = maximize;
          fulgur::cuda::adam_step<Exec::Emulated>(list, h, nullptr);
        }
        for (size_t t = 0; t < sizes.size(); ++t) {
          CHECK(fulgur::testing::compare(p[t], fulgur::testing::values(params[t]), 1e-6, 1e-7) == "");
        }
      }
    }
  }
  fulgur::cuda::AdamHyper bad;
  bad.step = 0;
  CHECK_THROWS_AS(fulgur::cuda::adam_step<Exec::Emulated>({}, bad, nullptr), fulgur::Error);
}
