// GPU benchmark of what cuDNN runs for CUDA tensors, beside the composed path that
// set_cudnn_enabled(false) runs instead, in the same run:
//   * conv2d (tensor/fused_conv.h; composed: im2col + our GEMM) at the layers of the examples'
//     CNN and of a ResNet stage, float32 and float16;
//   * training-mode batch_norm (tensor/fused_batch_norm.h; composed: mean / var / rsqrt and
//     element-wise ops) at the activations of the same layers, float32.
// Convolutions also with cuDNN's algorithm chosen by timing (benchmark=true: "cudnn_benchmark_ms").
// Two workloads each: "forward" (under NoGradGuard) and "step" (forward, then backward of
// sum(y * g) into the input and the parameters).
// Times are medians of 20 cudaEvent-timed runs after warm-up (the algorithm choice and
// benchmark=false's heuristic stay out of them). Without a GPU it says so and exits 0.
//   bazel run -c opt //bench:gpu_cudnn -- --json
//   {"bench":"gpu_cudnn","op":"conv2d","layer":"mnist_conv2","work":"step","dtype":"f32",...,
//    "cudnn_ms":..,"composed_ms":..,"speedup":..,"cudnn_tflops":..}
#include <cstdio>
#include <functional>
#include <utility>
#include <random>
#include <string>

#include "fulgur/bench/gpu_bench_util.h"
#include "fulgur/fulgur.h"
#include "fulgur/tensor/algorithm_flags.h"

#if FULGUR_WITH_CUDA
namespace {

using namespace fulgur;
namespace F = fulgur::nn::functional;

struct Layer {
  const char* name;
  int64_t n, c, hw, k, r, stride;
};

// conv2d 3x3 and 1x1 layers: examples/mnist's CNN (batch 128), a ResNet-50 stage (batch 32).
const Layer kLayers[] = {
    {"mnist_conv1", 128, 1, 28, 32, 3, 1},    {"mnist_conv2", 128, 32, 28, 64, 3, 1},
    {"resnet_3x3_64", 32, 64, 56, 64, 3, 1},  {"resnet_3x3_256", 32, 256, 14, 256, 3, 1},
    {"resnet_1x1_up", 32, 256, 14, 1024, 1, 1}, {"resnet_3x3_s2", 32, 128, 56, 128, 3, 2},
};

// Median ms of launch with cuDNN on, then off.
std::pair<double, double> both(const std::function<void()>& launch) {
  set_cudnn_enabled(true);
  const double cudnn = bench::median_ms(launch);
  set_cudnn_enabled(false);
  const double composed = bench::median_ms(launch);
  set_cudnn_enabled(true);
  return {cudnn, composed};
}

// Median ms of launch with cuDNN choosing its algorithm by timing them (benchmark=true, the
// Trainer's `benchmark`); the timing happens in the warm-up, outside the median.
double with_benchmark(const std::function<void()>& launch) {
  set_cudnn_benchmark(true);
  const double ms = bench::median_ms(launch);
  set_cudnn_benchmark(false);
  return ms;
}

void run_batch_norm(bool json) {
  const Device dev = Device::cuda(0);
  for (const Layer& l : kLayers) {
    const Tensor x = randn({l.n, l.k, l.hw / l.stride, l.hw / l.stride}, {.dtype = kFloat32, .device = dev});
    const Tensor g = randn(x.sizes(), {.dtype = kFloat32, .device = dev});
    Tensor rm = zeros({l.k}, {.dtype = kFloat32, .device = dev}), rv = ones({l.k}, {.dtype = kFloat32, .device = dev});
    const Tensor w = ones({l.k}, {.dtype = kFloat32, .device = dev}), b = zeros({l.k}, {.dtype = kFloat32, .device = dev});
    const double bytes = 2.0 * static_cast<double>(x.numel()) * 4;  // one read, one write
    for (const char* work : {"forward", "step"}) {
      const bool step = std::string(work) == "step";
      const auto [cudnn, composed] = both([&] {
        if (!step) {
          NoGradGuard no_grad;
          (void)F::batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
          return;
        }
        Tensor xi = x.detach().requires_grad_(), wi = w.detach().requires_grad_(), bi = b.detach().requires_grad_();
        F::batch_norm(xi, rm, rv, wi, bi, true, 0.1, 1e-5).mul(g).sum().backward();
      });
      if (json) {
        std::printf("{\"bench\":\"gpu_cudnn\",\"op\":\"batch_norm\",\"layer\":\"%s\",\"work\":\"%s\",\"dtype\":"
                    "\"f32\",\"shape\":\"%lldx%lldx%lldx%lld\",\"cudnn_ms\":%.4f,\"composed_ms\":%.4f,\"speedup\":%.2f,"
                    "\"cudnn_gbps_forward_io\":%.1f}\n",
                    l.name, work, (long long)x.size(0), (long long)x.size(1), (long long)x.size(2),
                    (long long)x.size(3), cudnn, composed, composed / cudnn, bytes / cudnn / 1e6);
      } else {
        std::printf("batch_norm %-15s %-7s f32  cuDNN %8.3f ms  composed %8.3f ms  x%.2f\n", l.name, work, cudnn,
                    composed, composed / cudnn);
      }
      std::fflush(stdout);
    }
  }
}

void run(bool json) {
  std::mt19937 rng(7);
  const Device dev = Device::cuda(0);
  for (DType dtype : {kFloat32, kFloat16}) {
    for (const Layer& l : kLayers) {
      const int64_t pad = l.r / 2;
      Tensor x = randn({l.n, l.c, l.hw, l.hw}, {.dtype = dtype, .device = dev});
      Tensor w = randn({l.k, l.c, l.r, l.r}, {.dtype = dtype, .device = dev}).mul(0.1);
      Tensor b = randn({l.k}, {.dtype = dtype, .device = dev});
      const int64_t out_hw = (l.hw + 2 * pad - l.r) / l.stride + 1;
      const Tensor g = randn({l.n, l.k, out_hw, out_hw}, {.dtype = dtype, .device = dev});
      const double flops = 2.0 * l.n * l.k * out_hw * out_hw * l.c * l.r * l.r;
      for (const char* work : {"forward", "step"}) {
        const bool step = std::string(work) == "step";
        const auto launch = [&] {
          if (!step) {
            NoGradGuard no_grad;
            (void)F::conv2d(x, w, b, l.stride, pad);
            return;
          }
          Tensor xi = x.detach().requires_grad_(), wi = w.detach().requires_grad_(), bi = b.detach().requires_grad_();
          F::conv2d(xi, wi, bi, l.stride, pad).mul(g).sum().backward();
        };
        const auto [cudnn, composed] = both(launch);
        const double timed = with_benchmark(launch);
        const double work_flops = step ? 3 * flops : flops;  // forward, input and weight gradients
        const char* dt = dtype == kFloat32 ? "f32" : "f16";
        if (json) {
          std::printf("{\"bench\":\"gpu_cudnn\",\"op\":\"conv2d\",\"layer\":\"%s\",\"work\":\"%s\",\"dtype\":\"%s\",\"n\":%lld,\"c\":%lld,"
                      "\"hw\":%lld,\"k\":%lld,\"r\":%lld,\"stride\":%lld,\"cudnn_ms\":%.4f,\"composed_ms\":%.4f,"
                      "\"cudnn_benchmark_ms\":%.4f,\"speedup\":%.2f,\"cudnn_tflops\":%.2f,\"composed_tflops\":%.2f}\n",
                      l.name, work, dt, (long long)l.n, (long long)l.c, (long long)l.hw, (long long)l.k,
                      (long long)l.r, (long long)l.stride, cudnn, composed, timed, composed / cudnn,
                      work_flops / cudnn / 1e9, work_flops / composed / 1e9);
        } else {
          std::printf("conv2d     %-15s %-7s %s  cuDNN %8.3f ms (%6.1f TFLOP/s)  composed %8.3f ms (%6.1f)  x%.2f"
                      "  cuDNN benchmark=true %8.3f ms\n", l.name, work, dt, cudnn, work_flops / cudnn / 1e9, composed,
                      work_flops / composed / 1e9, composed / cudnn, timed);
        }
        std::fflush(stdout);
      }
    }
  }
  run_batch_norm(json);
}

}  // namespace
#endif

int main(int argc, char** argv) {
#if FULGUR_WITH_CUDA
  return fulgur::bench::gpu_bench_main(argc, argv, "gpu_cudnn", run);
#else
  return fulgur::bench::gpu_bench_main(argc, argv, "gpu_cudnn", [](bool) {});
#endif
}
