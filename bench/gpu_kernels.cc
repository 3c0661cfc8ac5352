// GPU benchmarks of the hand-written row kernels (softmax, fused cross-entropy), each beside a
// device-to-device copy of the same bytes measured in the same run, which is the ceiling for
// memory-bound kernels. Times are medians of cudaEvent-timed runs after warm-up, on random
// data (never zeros). Without a GPU it says so and exits 0.
//   bazel run -c opt //bench:gpu_kernels -- --json
//   {"bench":"gpu_kernels","kernel":"softmax_fwd","rows":4096,"cols":4096,"ms":..,"gb_s":..,
//    "copy_gb_s":..,"pct_of_copy":..,"path":"block-per-row"}
// Effective bandwidth counts each input read once and each output written once.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fulgur/bench/gpu_bench_util.h"
#include "fulgur/kernels/cuda/runtime.h"
#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>

#include "fulgur/kernels/cuda/adam.h"
#include "fulgur/kernels/cuda/amp.h"
#include "fulgur/kernels/cuda/cross_entropy.h"
#include "fulgur/kernels/cuda/device_buffer.h"
#include "fulgur/kernels/cuda/layer_norm.h"
#include "fulgur/kernels/cuda/softmax.h"
#endif

#if FULGUR_WITH_CUDA
namespace {

using fulgur::bench::median_ms;
using fulgur::cuda::DeviceBuffer;
using fulgur::cuda::Exec;


// Fills a device buffer with uniform random floats in [lo, hi) by repeating a random host tile.
void fill_random(DeviceBuffer& b, std::mt19937& rng, float lo, float hi) {
  const size_t n = b.bytes() / sizeof(float);
  const size_t tile = std::min<size_t>(n, size_t{1} << 22);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> host(tile);
  for (auto& v : host) v = dist(rng);
  for (size_t off = 0; off < n; off += tile) {
    const size_t count = std::min(tile, n - off);
    fulgur::cuda::check(cudaMemcpy(b.as<float>() + off, host.data(), count * sizeof(float), cudaMemcpyHostToDevice),
                        "cudaMemcpy");
  }
}

struct Reporter {
  bool json;
  // path: which of a kernel's variants the shape took (softmax: warp, block, cluster or
  // multi-block per row), or "" where there is one.
  void row(const char* kernel, int64_t rows, int64_t cols, double ms, double bytes, double copy_gb_s,
           const char* path = "") {
    const double gb_s = bytes / (ms * 1e-3) / 1e9;
    if (json) {
      std::printf(
          "{\"bench\":\"gpu_kernels\",\"kernel\":\"%s\",\"rows\":%lld,\"cols\":%lld,\"ms\":%.4f,\"gb_s\":%.1f,"
          "\"copy_gb_s\":%.1f,\"pct_of_copy\":%.1f,\"path\":\"%s\"}\n",
          kernel, static_cast<long long>(rows), static_cast<long long>(cols), ms, gb_s, copy_gb_s,
          100.0 * gb_s / copy_gb_s, path);
    } else {
      std::printf("%-18s %6lld x %-7lld %9.4f ms %8.1f GB/s  (copy %7.1f GB/s, %5.1f%%) %s\n", kernel,
                  static_cast<long long>(rows), static_cast<long long>(cols), ms, gb_s, copy_gb_s,
                  100.0 * gb_s / copy_gb_s, path);
    }
    std::fflush(stdout);
  }
};

// Casts (read 4 + write 2 bytes per element, or the reverse) and the fused Adam step (read 4
// arrays, write 3: 28 bytes per element), beside a copy of 1 GiB.
void run_elementwise(Reporter& report, std::mt19937& rng) {
  const int64_t n = int64_t{1} << 28;
  DeviceBuffer x(static_cast<size_t>(n) * 4), y(static_cast<size_t>(n) * 4), h(static_cast<size_t>(n) * 2);
  fill_random(x, rng, -100.0f, 100.0f);
  const double copy_ms = median_ms([&] { cudaMemcpyAsync(y.data(), x.data(), x.bytes(), cudaMemcpyDeviceToDevice); });
  const double copy_gb_s = 2.0 * static_cast<double>(x.bytes()) / (copy_ms * 1e-3) / 1e9;
  report.row("copy_d2d", 1, n, copy_ms, 2.0 * static_cast<double>(x.bytes()), copy_gb_s);
  for (auto f : {fulgur::cuda::HalfFormat::BFloat16, fulgur::cuda::HalfFormat::Float16}) {
    const bool bf = f == fulgur::cuda::HalfFormat::BFloat16;
    const double to = median_ms([&] { fulgur::cuda::cast_to_half<Exec::Gpu>(x.as<float>(), h.as<uint16_t>(), n, f, nullptr); });
    report.row(bf ? "cast_f32_to_bf16" : "cast_f32_to_f16", 1, n, to, 6.0 * static_cast<double>(n), copy_gb_s);
    const double from =
        median_ms([&] { fulgur::cuda::cast_from_half<Exec::Gpu>(h.as<uint16_t>(), y.as<float>(), n, f, nullptr); });
    report.row(bf ? "cast_bf16_to_f32" : "cast_f16_to_f32", 1, n, from, 6.0 * static_cast<double>(n), copy_gb_s);
  }
  // Adam over 64 tensors of 1M elements (a model's worth of parameters in one list).
  const int tensors = 64;
  const int64_t each = int64_t{1} << 20;
  std::vector<DeviceBuffer> bufs;
  std::vector<fulgur::cuda::AdamTensor> list;
  for (int t = 0; t < tensors; ++t) {
    for (int k = 0; k < 4; ++k) {
      bufs.emplace_back(static_cast<size_t>(each) * 4);
      fill_random(bufs.back(), rng, k == 3 ? 0.0f : -1.0f, 1.0f);
    }
    const size_t b = bufs.size() - 4;
    list.push_back({bufs[b].as<float>(), bufs[b + 1].as<float>(), bufs[b + 2].as<float>(), bufs[b + 3].as<float>(), each});
  }
  fulgur::cuda::AdamHyper hyper;
  hyper.decoupled = true;
  hyper.weight_decay = 0.01;
  const double adam = median_ms([&] { fulgur::cuda::adam_step<Exec::Gpu>(list, hyper, nullptr); });
  report.row("adamw_step", tensors, each, adam, 28.0 * static_cast<double>(tensors * each), copy_gb_s);
}

// Few very long rows, where softmax cuts each row into chunks (cuda::softmax_row_splits): a
// block per row alone would leave most SMs idle.
void run_few_long_rows(Reporter& report, std::mt19937& rng) {
  for (int64_t rows : {4, 16}) {
    const int64_t cols = int64_t{1} << 22;
    const size_t n = static_cast<size_t>(rows * cols), bytes = n * sizeof(float);
    DeviceBuffer x(bytes), y(bytes), dy(bytes), dx(bytes);
    fill_random(x, rng, -8.0f, 8.0f);
    fill_random(dy, rng, -1.0f, 1.0f);
    const double copy_ms = median_ms([&] { cudaMemcpyAsync(y.data(), x.data(), bytes, cudaMemcpyDeviceToDevice); });
    const double copy_gb_s = 2.0 * static_cast<double>(bytes) / (copy_ms * 1e-3) / 1e9;
    report.row("copy_d2d", rows, cols, copy_ms, 2.0 * static_cast<double>(bytes), copy_gb_s);
    const double f = median_ms(
        [&] { fulgur::cuda::softmax_forward<Exec::Gpu>(x.as<float>(), y.as<float>(), rows, cols, false, nullptr); });
    report.row("softmax_fwd_multiblock", rows, cols, f, 2.0 * static_cast<double>(bytes), copy_gb_s);
    const double b = median_ms([&] {
      fulgur::cuda::softmax_backward<Exec::Gpu>(y.as<float>(), dy.as<float>(), dx.as<float>(), rows, cols, false,
                                                nullptr);
    });
    report.row("softmax_bwd_multiblock", rows, cols, b, 3.0 * static_cast<double>(bytes), copy_gb_s);
  }
}

void run(bool json) {
  cudaDeviceProp prop{};
  fulgur::cuda::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  if (json) {
    std::printf("{\"bench\":\"gpu_kernels\",\"device\":\"%s\",\"sm\":%d%d,\"sms\":%d,\"driver\":%d,\"runtime\":%d}\n",
                prop.name, prop.major, prop.minor, prop.multiProcessorCount, driver, runtime);
  } else {
    std::printf("device: %s (sm_%d%d, %d SMs), driver %d, runtime %d\n", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount, driver, runtime);
  }
  Reporter report{json};
  std::mt19937 rng(42);
  const int64_t rows = 4096;
  const bool clusters = fulgur::cuda::softmax_cluster_kernels_run<Exec::Gpu>();
  for (int64_t cols : {1024, 4096, 32768, 131072}) {
    const size_t n = static_cast<size_t>(rows * cols), bytes = n * sizeof(float);
    DeviceBuffer x(bytes), y(bytes), dy(bytes), dx(bytes);
    fill_random(x, rng, -8.0f, 8.0f);
    fill_random(dy, rng, -1.0f, 1.0f);
    const double copy_ms = median_ms([&] { cudaMemcpyAsync(y.data(), x.data(), bytes, cudaMemcpyDeviceToDevice); });
    const double copy_gb_s = 2.0 * static_cast<double>(bytes) / (copy_ms * 1e-3) / 1e9;
    report.row("copy_d2d", rows, cols, copy_ms, 2.0 * static_cast<double>(bytes), copy_gb_s);
    for (bool log : {false, true}) {
      const double f = median_ms([&] {
        fulgur::cuda::softmax_forward<Exec::Gpu>(x.as<float>(), y.as<float>(), rows, cols, log, nullptr);
      });
      report.row(log ? "log_softmax_fwd" : "softmax_fwd", rows, cols, f, 2.0 * static_cast<double>(bytes), copy_gb_s,
                 fulgur::cuda::softmax_kernel_name(rows, cols, false, clusters));
      const double b = median_ms([&] {
        fulgur::cuda::softmax_backward<Exec::Gpu>(y.as<float>(), dy.as<float>(), dx.as<float>(), rows, cols, log,
                                                  nullptr);
      });
      report.row(log ? "log_softmax_bwd" : "softmax_bwd", rows, cols, b, 3.0 * static_cast<double>(bytes), copy_gb_s,
                 fulgur::cuda::softmax_kernel_name(rows, cols, true, clusters));
    }
    std::uniform_int_distribution<int64_t> cls(0, cols - 1);
    std::vector<int64_t> target(static_cast<size_t>(rows));
    for (auto& t : target) t = cls(rng);
    auto t_dev = DeviceBuffer::from(target);
    DeviceBuffer loss(static_cast<size_t>(rows) * 4), lse(loss.bytes()), rw(loss.bytes()),
        grad(static_cast<size_t>(rows) * 4);
    fill_random(grad, rng, 0.5f, 1.5f);
    fulgur::cuda::CrossEntropyArgs a;
    a.logits = x.as<float>();
    a.target = t_dev.as<int64_t>();
    a.rows = rows;
    a.classes = cols;
    a.label_smoothing = 0.1f;
    const double ce_f = median_ms([&] {
      fulgur::cuda::cross_entropy_forward<Exec::Gpu>(a, loss.as<float>(), lse.as<float>(), rw.as<float>(), nullptr);
    });
    report.row("xent_fwd", rows, cols, ce_f, static_cast<double>(bytes), copy_gb_s);
    const double ce_b = median_ms([&] {
      fulgur::cuda::cross_entropy_backward<Exec::Gpu>(a, lse.as<float>(), grad.as<float>(), dx.as<float>(), nullptr);
    });
    report.row("xent_bwd", rows, cols, ce_b, 2.0 * static_cast<double>(bytes), copy_gb_s);
    if (cols <= 32768) {
      DeviceBuffer gamma(static_cast<size_t>(cols) * 4), beta(gamma.bytes()), dg(gamma.bytes()), db(gamma.bytes()),
          ws(static_cast<size_t>(fulgur::cuda::layer_norm_workspace_floats(rows, cols)) * 4);
      fill_random(gamma, rng, 0.5f, 1.5f);
      fill_random(beta, rng, -0.5f, 0.5f);
      const double ln_f = median_ms([&] {
        fulgur::cuda::layer_norm_forward<Exec::Gpu>(x.as<float>(), gamma.as<float>(), beta.as<float>(), y.as<float>(),
                                                    loss.as<float>(), lse.as<float>(), rows, cols, 1e-5f, nullptr);
      });
      report.row("layer_norm_fwd", rows, cols, ln_f, 2.0 * static_cast<double>(bytes), copy_gb_s);
      const double ln_b = median_ms([&] {
        fulgur::cuda::layer_norm_backward<Exec::Gpu>(x.as<float>(), dy.as<float>(), gamma.as<float>(), loss.as<float>(),
                                                     lse.as<float>(), dx.as<float>(), dg.as<float>(), db.as<float>(),
                                                     ws.as<float>(), rows, cols, nullptr);
      });
      // dx reads x and dy and writes dx; the parameter gradients read x and dy once more.
      report.row("layer_norm_bwd", rows, cols, ln_b, 5.0 * static_cast<double>(bytes), copy_gb_s);
    }
  }
  run_few_long_rows(report, rng);
  run_elementwise(report, rng);
}

}  // namespace
#endif

int main(int argc, char** argv) {
#if FULGUR_WITH_CUDA
  return fulgur::bench::gpu_bench_main(argc, argv, "gpu_kernels", run);
#else
  return fulgur::bench::gpu_bench_main(argc, argv, "gpu_kernels", [](bool) {});
#endif
}
