// bfloat16 under autocast next to float32: a square matmul (bf16 operands; the GEMM converts
// them to float32, runs the float32 GEMM and rounds the result) and one Linear layer's forward
// + backward (784 -> 128, batch 256) with float32 parameters, plain vs inside
// AutocastGuard(kCPU, kBFloat16) (the casts included). Runs alternate, medians reported.
//
//   bazel run -c opt //bench:autocast_gemm
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "fulgur/fulgur.h"

namespace {

using Clock = std::chrono::steady_clock;

double median_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2] * 1e3;
}

// Alternates a and b `reps` times after one warm-up each; returns their median times (ms).
std::pair<double, double> paired(const std::function<void()>& a, const std::function<void()>& b, int reps) {
  a();
  b();
  std::vector<double> ta, tb;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    a();
    ta.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    t0 = Clock::now();
    b();
    tb.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return {median_ms(ta), median_ms(tb)};
}

}  // namespace

int main() {
  using namespace fulgur;
  namespace F = fulgur::nn::functional;
  manual_seed(0);
  std::printf("%-40s %12s %12s %8s\n", "case", "fp32 (ms)", "bf16 (ms)", "ratio");
  for (int64_t n : {256, 512, 1024}) {
    const Tensor a = randn({n, n}), b = randn({n, n});
    const Tensor a16 = a.to(kBFloat16), b16 = b.to(kBFloat16);
    const auto [t32, t16] = paired([&] { (void)a.matmul(b); }, [&] { (void)a16.matmul(b16); }, n >= 1024 ? 5 : 15);
    char name[64];
    std::snprintf(name, sizeof(name), "matmul %lldx%lldx%lld", static_cast<long long>(n), static_cast<long long>(n),
                  static_cast<long long>(n));
    std::printf("%-40s %12.3f %12.3f %8.2f\n", name, t32, t16, t16 / t32);
  }
  nn::Linear layer(784, 128);
  const Tensor x = randn({256, 784});
  auto step = [&](bool autocast) {
    Tensor loss;
    {
      AutocastGuard guard(kCPU, kBFloat16, autocast);
      loss = layer(x).square().mean();
    }
    layer.zero_grad();
    loss.backward();
  };
  const auto [l32, l16] = paired([&] { step(false); }, [&] { step(true); }, 30);
  std::printf("%-40s %12.3f %12.3f %8.2f\n", "Linear 784->128, batch 256, fwd+bwd", l32, l16, l16 / l32);
  return 0;
}
