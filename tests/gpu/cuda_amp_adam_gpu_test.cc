// Casts, the GradScaler unscale check and fused Adam / AdamW on a real GPU, against the same
// kernels run through the SIMT emulator on the CPU (identical formulas; the GPU may contract
// a*b+c into one FMA, hence a tolerance for Adam) and kernels/half.h for the casts.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "fulgur/kernels/cuda/runtime.h"
#include "tests/gpu/skip_without_gpu.h"
#include "fulgur/kernels/half.h"
#include "tests/cuda_reference.h"
#if FULGUR_WITH_CUDA
#include "fulgur/kernels/cuda/adam.h"
#include "fulgur/kernels/cuda/amp.h"
#include "fulgur/kernels/cuda/device_buffer.h"
#endif

#if FULGUR_WITH_CUDA
using fulgur::cuda::DeviceBuffer;
using fulgur::cuda::Exec;
using fulgur::cuda::HalfFormat;
#endif

TEST_CASE("gpu casts: fp32 <-> bf16 / fp16 bit for bit as the CPU conversions") {
  FULGUR_SKIP_WITHOUT_GPU();
#if FULGUR_WITH_CUDA
  std::mt19937 rng(31);
  for (int64_t n : {1, 9, 4099, 1 << 22}) {
    for (HalfFormat f : {HalfFormat::BFloat16, HalfFormat::Float16}) {
      CAPTURE(n);
      auto src = fulgur::testing::random_floats(static_cast<size_t>(n), rng, -70000.0f, 70000.0f);
      if (n > 8) {
        src[1] = std::numeric_limits<float>::infinity();
        src[2] = 1e-8f;
        src[3] = 65520.0f;
        src[4] = std::numeric_limits<float>::quiet_NaN();
      }
      auto in = DeviceBuffer::from(src);
      DeviceBuffer half(static_cast<size_t>(n) * 2), back(static_cast<size_t>(n) * 4);
      half.fill_bytes(0xFF);
      fulgur::cuda::cast_to_half<Exec::Gpu>(in.as<float>(), half.as<uint16_t>(), n, f, nullptr);
      fulgur::cuda::cast_from_half<Exec::Gpu>(half.as<uint16_t>(), back.as<float>(), n, f, nullptr);
      fulgur::cuda::synchronize("casts");
      const auto h = half.to_host<uint16_t>();
      const auto b = back.to_host<float>();
      int64_t mismatches = 0;
      for (size_t i = 0; i < src.size(); ++i) {
        if (std::isnan(src[i])) {
          mismatches += !std::isnan(b[i]);
          continue;
        }
        const uint16_t e = f == HalfFormat::BFloat16 ? fulgur::BFloat16(src[i]).bits : fulgur::Half(src[i]).bits;
        const float eb = f == HalfFormat::BFloat16 ? static_cast<float>(fulgur::BFloat16::from_bits(e))
                                                   : static_cast<float>(fulgur::Half::from_bits(e));
        mismatches += h[i] != e || b[i] != eb;
      }
      CHECK(mismatches == 0);
    }
  }
#endif
}

TEST_CASE("gpu unscale_and_check_finite and adam_step agree with the emulated kernels") {
  FULGUR_SKIP_WITHOUT_GPU();
#if FULGUR_WITH_CUDA
  std::mt19937 rng(37);
  const std::vector<int64_t> sizes = {3, 16, 20000, 1, 4097, 1 << 20};
  std::vector<std::vector<float>> p, g, m, v;
  std::vector<DeviceBuffer> dp, dg, dm, dv;
  for (int64_t n : sizes) {
    p.push_back(fulgur::testing::random_floats(static_cast<size_t>(n), rng));
    g.push_back(fulgur::testing::random_floats(static_cast<size_t>(n), rng, -1.0f, 1.0f));
    m.push_back(fulgur::testing::random_floats(static_cast<size_t>(n), rng, -0.1f, 0.1f));
    v.push_back(fulgur::testing::random_floats(static_cast<size_t>(n), rng, 0.0f, 0.01f));
    dp.push_back(DeviceBuffer::from(p.back()));
    dg.push_back(DeviceBuffer::from(g.back()));
    dm.push_back(DeviceBuffer::from(m.back()));
    dv.push_back(DeviceBuffer::from(v.back()));
  }
  std::vector<fulgur::cuda::AdamTensor> host_list, dev_list;
  for (size_t t = 0; t < sizes.size(); ++t) {
    host_list.push_back({p[t].data(), g[t].data(), m[t].data(), v[t].data(), sizes[t]});
    dev_list.push_back({dp[t].as<float>(), dg[t].as<float>(), dm[t].as<float>(), dv[t].as<float>(), sizes[t]});
  }
  for (bool decoupled : {false, true}) {
    fulgur::cuda::AdamHyper h;
    h.lr = 0.01;
    h.weight_decay = 0.01;
    h.step = decoupled ? 5 : 4;
    h.decoupled = decoupled;
    fulgur::cuda::adam_step<Exec::Emulated>(host_list, h, nullptr);
    fulgur::cuda::adam_step<Exec::Gpu>(dev_list, h, nullptr);
  }
  fulgur::cuda::synchronize("adam_step");
  for (size_t t = 0; t < sizes.size(); ++t) {
    CAPTURE(sizes[t]);
    CHECK(fulgur::testing::compare(dp[t].to_host<float>(), p[t], 1e-5, 1e-6) == "");
    CHECK(fulgur::testing::compare(dm[t].to_host<float>(), m[t], 1e-5, 1e-7) == "");
    CHECK(fulgur::testing::compare(dv[t].to_host<float>(), v[t], 1e-5, 1e-9) == "");
  }

  std::vector<fulgur::cuda::FloatSpan> spans;
  for (auto& b : dg) spans.push_back({b.as<float>(), static_cast<int64_t>(b.bytes() / 4)});
  DeviceBuffer found(4);
  found.fill_bytes(0);
  fulgur::cuda::unscale_and_check_finite<Exec::Gpu>(spans, 0.5f, found.as<float>(), nullptr);
  fulgur::cuda::synchronize("unscale");
  CHECK(found.to_host<float>()[0] == 0.0f);
  for (size_t t = 0; t < sizes.size(); ++t) {
    const auto after = dg[t].to_host<float>();
    for (size_t i = 0; i < after.size(); ++i) REQUIRE(after[i] == g[t][i] * 0.5f);
  }
  const float inf = std::numeric_limits<float>::infinity();
  dg[5].upload(&inf, 0);  // no-op upload of 0 bytes keeps the API honest
  std::vector<float> poisoned = g[5];
  poisoned[777777] = inf;
  dg[5].upload(poisoned.data(), poisoned.size() * 4);
  fulgur::cuda::unscale_and_check_finite<Exec::Gpu>(spans, 1.0f, found.as<float>(), nullptr);
  fulgur::cuda::synchronize("unscale");
  CHECK(found.to_host<float>()[0] == 1.0f);
#endif
}
