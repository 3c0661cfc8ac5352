// GPU benchmark of the tensor-core GEMM (kernels/cuda/gemm.h) beside cuBLAS in the same run,
// each shape on both of our kernels: the mma.sync one (ops "gemm", "gemm_bias_gelu") and, on
// sm_90, the wgmma/TMA one (ops "gemm_wgmma", "gemm_bias_gelu_wgmma"):
//   * square bf16 and fp16 GEMMs (4096^3, 8192^3, and bf16 4096 x 4096 x 16384; D in the input
//     dtype, no epilogue) against cublasGemmEx with CUBLAS_COMPUTE_32F; the wgmma kernel also
//     with its blocks alone (no clusters), with a block per tile (no persistent grid) and with
//     128 x 256 tiles (Auto takes 128 x 128);
//   * MLP layers y = gelu(x @ W^T + b) (bf16, M in {64, 1024, 8192}, K in {784, 4096}, N in
//     {128, 4096}): ours with bias + GELU fused into the epilogue, against cublasGemmEx
//     followed by a separate bias-GELU kernel (bench/gpu_bias_gelu.cu);
//   * what CUDA tensors' matmul runs: our float32 CUDA-core GEMM and our cuBLASLt path
//     (float32, bf16) beside a bare cublasGemmEx.
// Times are medians of 20 cudaEvent-timed runs after warm-up, on random data (never zeros).
// Without a GPU it says so and exits 0.
//   bazel run -c opt //bench:gpu_gemm -- --json
//   {"bench":"gpu_gemm","op":"gemm","dtype":"bf16","m":4096,"n":4096,"k":4096,"ms":..,
//    "tflops":..,"cublas_ms":..,"cublas_tflops":..,"pct_of_cublas":..}
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fulgur/bench/gpu_bench_util.h"
#include "fulgur/kernels/cuda/runtime.h"
#if FULGUR_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "fulgur/bench/gpu_bias_gelu.h"
#include "fulgur/kernels/cuda/cublaslt_gemm.h"
#include "fulgur/kernels/cuda/device_buffer.h"
#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/cuda/gemm_kernel_choice.h"
#include "fulgur/kernels/cuda/tensor_gemm.h"
#include "fulgur/kernels/half.h"
#endif

#if FULGUR_WITH_CUDA
namespace {

using fulgur::bench::median_ms;
using fulgur::cuda::DeviceBuffer;
using fulgur::cuda::Exec;
using fulgur::cuda::GemmActivation;
using fulgur::cuda::GemmArgs;
using fulgur::cuda::GemmDtype;


void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + " failed: status " + std::to_string(s));
}

// A device buffer of `count` 16-bit values drawn from N(0, 1), by repeating a random host tile.
DeviceBuffer random16(size_t count, GemmDtype t, std::mt19937& rng) {
  DeviceBuffer b(count * 2);
  const size_t tile = std::min<size_t>(count, size_t{1} << 22);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> host(tile);
  for (auto& v : host) {
    const float f = normal(rng);
    v = t == GemmDtype::BFloat16 ? fulgur::BFloat16::from_float(f) : fulgur::Half::from_float(f);
  }
  for (size_t off = 0; off < count; off += tile) {
    const size_t n = std::min(tile, count - off);
    fulgur::cuda::check(cudaMemcpy(b.as<uint16_t>() + off, host.data(), n * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  return b;
}

struct Shape {
  int64_t m, n, k;
  bool trans_b;
};

DeviceBuffer random32(size_t count, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> host(count);
  for (auto& v : host) v = normal(rng);
  return DeviceBuffer::from(host);
}

// The kernel table's descriptor of D = A @ op(B) for contiguous row-major operands.
fulgur::kernels::GemmArgs table_args(const Shape& s, fulgur::DType dtype, const void* a, const void* b, void* d) {
  fulgur::kernels::GemmArgs g;
  g.dtype = dtype;
  g.m = s.m;
  g.n = s.n;
  g.k = s.k;
  g.a = static_cast<const char*>(a);
  g.a_rs = s.k;
  g.a_cs = 1;
  g.b = static_cast<const char*>(b);
  g.b_rs = s.trans_b ? 1 : s.n;
  g.b_cs = s.trans_b ? s.k : 1;
  g.c = static_cast<char*>(d);
  g.c_rs = s.n;
  return g;
}

// The benchmark measures cuBLASLt itself: a shape it has no algorithm for is an error here.
void no_fallback(const fulgur::kernels::GemmArgs&) { throw std::runtime_error("cuBLASLt has no algorithm"); }

void cublas_gemm_f32(cublasHandle_t h, const Shape& s, const void* a, const void* b, void* d) {
  const float one = 1.0f, zero = 0.0f;
  check_cublas(cublasGemmEx(h, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(s.n),
                            static_cast<int>(s.m), static_cast<int>(s.k), &one, b, CUDA_R_32F,
                            static_cast<int>(s.trans_b ? s.k : s.n), a, CUDA_R_32F, static_cast<int>(s.k), &zero, d,
                            CUDA_R_32F, static_cast<int>(s.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

// D = A @ op(B), row-major, D in the input dtype: cuBLAS sees D^T = op(B)^T A^T (column-major).
void cublas_gemm(cublasHandle_t h, const Shape& s, GemmDtype t, const void* a, const void* b, void* d) {
  const float one = 1.0f, zero = 0.0f;
  const cudaDataType_t ct = t == GemmDtype::BFloat16 ? CUDA_R_16BF : CUDA_R_16F;
  check_cublas(cublasGemmEx(h, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(s.n),
                            static_cast<int>(s.m), static_cast<int>(s.k), &one, b, ct,
                            static_cast<int>(s.trans_b ? s.k : s.n), a, ct, static_cast<int>(s.k), &zero, d, ct,
                            static_cast<int>(s.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

GemmArgs our_args(const Shape& s, GemmDtype t, const void* a, const void* b, void* d) {
  GemmArgs g;
  g.m = s.m;
  g.n = s.n;
  g.k = s.k;
  g.input_dtype = t;
  g.out_dtype = t;
  g.a = a;
  g.b = b;
  g.trans_b = s.trans_b;
  g.d = d;
  g.kernel = fulgur::cuda::GemmKernel::MmaSync;  // the "gemm" rows; takes_wgmma switches
  return g;
}

// Switches g to the wgmma kernel; false (g unchanged) where it would not run (not sm_90), or
// when FULGUR_BENCH_SKIP_WGMMA is set (tests/gpu/run.sh sets it after the wgmma tests fail or
// hang, so that a hanging kernel cannot take cuBLAS's rows with it).
bool takes_wgmma(GemmArgs& g) {
  if (const char* skip = std::getenv("FULGUR_BENCH_SKIP_WGMMA"); skip != nullptr && *skip != '\0') {
    static bool said_skip = false;
    if (!said_skip) std::fprintf(stderr, "gpu_gemm: no wgmma rows: FULGUR_BENCH_SKIP_WGMMA is set\n");
    said_skip = true;
    return false;
  }
  GemmArgs w = g;
  w.kernel = fulgur::cuda::GemmKernel::Wgmma;
  const auto used = fulgur::cuda::gemm_kernel_for<Exec::Gpu>(w);
  if (used.kernel != fulgur::cuda::GemmKernel::Wgmma) {
    static bool said = false;
    if (!said) std::fprintf(stderr, "gpu_gemm: no wgmma rows: %s\n", used.why.c_str());
    said = true;
    return false;
  }
  g = w;
  return true;
}

const char* dtype_name(GemmDtype t) { return t == GemmDtype::BFloat16 ? "bf16" : "f16"; }

void report(bool json, const char* op, const char* dt, const Shape& s, double ms, double ref_ms, const char* ref_name) {
  const double flops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
  const double tf = flops / (ms * 1e-3) / 1e12, ref_tf = flops / (ref_ms * 1e-3) / 1e12;
  if (json) {
    std::printf(
        "{\"bench\":\"gpu_gemm\",\"op\":\"%s\",\"dtype\":\"%s\",\"m\":%lld,\"n\":%lld,\"k\":%lld,\"trans_b\":%s,"
        "\"ms\":%.4f,\"tflops\":%.1f,\"%s_ms\":%.4f,\"%s_tflops\":%.1f,\"pct_of_%s\":%.1f}\n",
        op, dt, static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k),
        s.trans_b ? "true" : "false", ms, tf, ref_name, ref_ms, ref_name, ref_tf, ref_name, 100.0 * tf / ref_tf);
  } else {
    std::printf("%-15s %-4s %5lld x %5lld x %5lld  ours %8.4f ms %6.1f TFLOP/s   %s %8.4f ms %6.1f TFLOP/s  (%5.1f%%)\n",
                op, dt, static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k), ms, tf,
                ref_name, ref_ms, ref_tf, 100.0 * tf / ref_tf);
  }
  std::fflush(stdout);
}

void run(bool json) {
  cudaDeviceProp prop{};
  fulgur::cuda::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  if (json) {
    std::printf("{\"bench\":\"gpu_gemm\",\"device\":\"%s\",\"sm\":%d%d,\"sms\":%d}\n", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount);
  } else {
    std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
  }
  cublasHandle_t h;
  check_cublas(cublasCreate(&h), "cublasCreate");
  std::mt19937 rng(42);

  // Squares, and one long K (4096 x 4096 x 16384: four times the K-loop per tile for the same
  // tile count, so fill, drain and epilogue weigh a quarter as much).
  struct Square {
    Shape s;
    GemmDtype t;
  };
  std::vector<Square> squares;
  for (int64_t n : {4096, 8192}) {
    for (GemmDtype t : {GemmDtype::BFloat16, GemmDtype::Float16}) squares.push_back({Shape{n, n, n, false}, t});
  }
  squares.push_back({Shape{4096, 4096, 16384, false}, GemmDtype::BFloat16});
  for (const auto& [s, t] : squares) {
    const size_t a_count = static_cast<size_t>(s.m * s.k), b_count = static_cast<size_t>(s.k * s.n);
    const size_t d_count = static_cast<size_t>(s.m * s.n);
    DeviceBuffer a = random16(a_count, t, rng), b = random16(b_count, t, rng), d(d_count * 2), d_ref(d_count * 2);
    GemmArgs g = our_args(s, t, a.data(), b.data(), d.data());
    const double ours = median_ms([&] { fulgur::cuda::gemm<Exec::Gpu>(g); });
    const double theirs = median_ms([&] { cublas_gemm(h, s, t, a.data(), b.data(), d_ref.data()); });
    report(json, "gemm", dtype_name(t), s, ours, theirs, "cublas");
    if (takes_wgmma(g)) {
      const double wgmma = median_ms([&] { fulgur::cuda::gemm<Exec::Gpu>(g); });
      report(json, "gemm_wgmma", dtype_name(t), s, wgmma, theirs, "cublas");
      // What Auto's choices are worth: blocks alone instead of in pairs sharing B, a block per
      // tile instead of a persistent grid, and the wide tile instead of the narrow one.
      g.cluster = fulgur::cuda::GemmCluster::Off;
      const double alone = median_ms([&] { fulgur::cuda::gemm<Exec::Gpu>(g); });
      report(json, "gemm_wgmma_alone", dtype_name(t), s, alone, theirs, "cublas");
      g.cluster = fulgur::cuda::GemmCluster::Auto;
      g.grid = fulgur::cuda::GemmGrid::PerTile;  // a block per tile instead of a persistent grid
      const double per_tile = median_ms([&] { fulgur::cuda::gemm<Exec::Gpu>(g); });
      report(json, "gemm_wgmma_per_tile", dtype_name(t), s, per_tile, theirs, "cublas");
      g.grid = fulgur::cuda::GemmGrid::Auto;
      g.tiles = fulgur::cuda::GemmTiles::Large;
      const double wide = median_ms([&] { fulgur::cuda::gemm<Exec::Gpu>(g); });
      report(json, "gemm_wgmma_128x256", dtype_name(t), s, wide, theirs, "cublas");
    }
  }

  for (int64_t m : {64, 1024, 8192}) {
    for (int64_t k : {784, 4096}) {
      for (int64_t n : {128, 4096}) {
        const GemmDtype t = GemmDtype::BFloat16;
        const Shape s{m, n, k, true};  // x [m, k] @ W^T, W [n, k] as nn.Linear stores it
        DeviceBuffer x = random16(static_cast<size_t>(m * k), t, rng), w = random16(static_cast<size_t>(n * k), t, rng);
        DeviceBuffer y(static_cast<size_t>(m * n) * 2), y_ref(static_cast<size_t>(m * n) * 2);
        std::vector<float> bias_host(static_cast<size_t>(n));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (auto& v : bias_host) v = normal(rng);
        DeviceBuffer bias = DeviceBuffer::from(bias_host);
        GemmArgs g = our_args(s, t, x.data(), w.data(), y.data());
        g.bias = bias.as<float>();
        g.activation = GemmActivation::Gelu;
        const double ours = median_ms([&] { fulgur::cuda::gemm<Exec::Gpu>(g); });
        const double theirs = median_ms([&] {
          cublas_gemm(h, s, t, x.data(), w.data(), y_ref.data());
          fulgur::bench::bias_gelu_bf16(y_ref.data(), bias.as<float>(), m, n, nullptr);
        });
        report(json, "gemm_bias_gelu", dtype_name(t), s, ours, theirs, "cublas_plus_kernel");
        if (takes_wgmma(g)) {
          const double wgmma = median_ms([&] { fulgur::cuda::gemm<Exec::Gpu>(g); });
          report(json, "gemm_bias_gelu_wgmma", dtype_name(t), s, wgmma, theirs, "cublas_plus_kernel");
        }
      }
    }
  }

  // What CUDA tensors' matmul runs (kernels::GemmArgs, as the kernel table passes it): our
  // float32 CUDA-core GEMM (tensor_gemm.h), and the cuBLASLt path (cublaslt_gemm.h) beside a
  // bare cublasGemmEx, whose ratio is the wrapper's cost. These rows feed kMeasuredGemms
  // (kernels/cuda/gemm_choice.cc).
  for (const Shape& s : {Shape{1024, 1024, 1024, false}, Shape{4096, 4096, 4096, false}, Shape{8192, 128, 784, true},
                         Shape{64, 4096, 784, true}, Shape{1024, 1024, 4096, true}}) {
    const size_t a_count = static_cast<size_t>(s.m * s.k), b_count = static_cast<size_t>(s.k * s.n);
    DeviceBuffer a = random32(a_count, rng), b = random32(b_count, rng);
    DeviceBuffer c(static_cast<size_t>(s.m * s.n) * 4), c_ref(static_cast<size_t>(s.m * s.n) * 4);
    const fulgur::kernels::GemmArgs g = table_args(s, fulgur::DType::Float32, a.data(), b.data(), c.data());
    const double cublas = median_ms([&] { cublas_gemm_f32(h, s, a.data(), b.data(), c_ref.data()); });
    const double cuda_cores = median_ms([&] { fulgur::cuda::tensor_gemm<Exec::Gpu>(g, nullptr); });
    report(json, "tensor_gemm", "f32", s, cuda_cores, cublas, "cublas");
    const double lt = median_ms([&] { fulgur::cuda::cublaslt_gemm(g, nullptr, no_fallback); });
    report(json, "cublaslt_path", "f32", s, lt, cublas, "cublas");
  }
  for (const Shape& s : {Shape{4096, 4096, 4096, false}, Shape{64, 4096, 784, true}}) {
    const GemmDtype t = GemmDtype::BFloat16;
    DeviceBuffer a = random16(static_cast<size_t>(s.m * s.k), t, rng), b = random16(static_cast<size_t>(s.k * s.n), t, rng);
    DeviceBuffer c(static_cast<size_t>(s.m * s.n) * 2), c_ref(static_cast<size_t>(s.m * s.n) * 2);
    const fulgur::kernels::GemmArgs g = table_args(s, fulgur::DType::BFloat16, a.data(), b.data(), c.data());
    const double cublas = median_ms([&] { cublas_gemm(h, s, t, a.data(), b.data(), c_ref.data()); });
    const double lt = median_ms([&] { fulgur::cuda::cublaslt_gemm(g, nullptr, no_fallback); });
    report(json, "cublaslt_path", "bf16", s, lt, cublas, "cublas");
  }
  cublasDestroy(h);
}

}  // namespace
#endif

int main(int argc, char** argv) {
#if FULGUR_WITH_CUDA
  return fulgur::bench::gpu_bench_main(argc, argv, "gpu_gemm", run);
#else
  return fulgur::bench::gpu_bench_main(argc, argv, "gpu_gemm", [](bool) {});
#endif
}
