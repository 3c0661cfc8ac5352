#include "fulgur/kernels/cuda/gemm_choice.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#include "fulgur/kernels/error.h"

namespace fulgur::cuda {
namespace {

// Our GEMM's rate against cuBLAS's at the shapes measured so far, with what our kernels run by
// default there: on sm_90 the wgmma kernel for 16-bit inputs (gemm.h) and the CUDA-core
// tensor_gemm for float32 (docs/PERFORMANCE.md, "The third GPU run", H200, 2026-11-30, from
// //bench:gpu_gemm). The MLP shapes were measured with the bias + GELU epilogue fused into ours
// and as a separate kernel after cuBLAS. Add a row for every new measurement (a faster kernel,
// another GPU); a ratio >= 1 makes ours the choice near that shape.
constexpr MeasuredGemm kMeasuredGemms[] = {
    {true, 90, 4096, 4096, 4096, 0.91},    // bf16 684 / 755 TFLOP/s; fp16 681 / 734
    {true, 90, 8192, 8192, 8192, 0.89},    // bf16 693 / 772; fp16 649 / 740
    {true, 90, 4096, 4096, 16384, 0.95},   // bf16 764 / 802
    {true, 90, 8192, 4096, 4096, 0.63},    // bf16 + bias + GELU vs cuBLAS + kernel
    {true, 90, 1024, 4096, 4096, 0.71},    // same
    {true, 90, 8192, 128, 784, 0.65},      // same, MLP shape
    {true, 90, 64, 4096, 784, 0.61},       // same, small batch
    {false, 90, 1024, 1024, 1024, 0.36},   // float32: 11.7 / 32.9 TFLOP/s
    {false, 90, 4096, 4096, 4096, 0.27},   // 13.7 / 51.2
    {false, 90, 8192, 128, 784, 0.33},     // 10.6 / 32.1 (B transposed, as nn.Linear)
    {false, 90, 64, 4096, 784, 0.27},      // 3.9 / 14.7
    {false, 90, 1024, 1024, 4096, 0.22},   // 9.7 / 44.1
};

bool is_16bit(DType d) { return d == DType::Float16 || d == DType::BFloat16; }

// Distance between shapes in octaves, so that 64 vs 128 counts as much as 4096 vs 8192.
double log_distance(const GemmShape& s, const MeasuredGemm& g) {
  const auto d = [](int64_t a, int64_t b) { return std::log2(static_cast<double>(a)) - std::log2(static_cast<double>(b)); };
  const double dm = d(s.m * s.batch, g.m), dn = d(s.n, g.n), dk = d(s.k, g.k);
  return std::sqrt(dm * dm + dn * dn + dk * dk);
}

std::string shape_text(const char* dtype, int64_t m, int64_t n, int64_t k) {
  return std::string(dtype) + " " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
}

GemmPolicy policy_from_environment() {
  const char* v = std::getenv("FULGUR_GEMM");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "auto") == 0) return GemmPolicy::Auto;
  if (std::strcmp(v, "ours") == 0) return GemmPolicy::Ours;
  if (std::strcmp(v, "cublaslt") == 0) return GemmPolicy::CublasLt;
  FULGUR_FAIL("matmul", "FULGUR_GEMM=", v, " is not a GEMM policy; hint: auto, ours or cublaslt");
}

std::once_flag g_policy_once;
std::atomic<GemmPolicy> g_policy{GemmPolicy::Auto};
std::atomic<bool> g_policy_set{false};

}  // namespace

void set_gemm_policy(GemmPolicy policy) {
  g_policy_set = true;
  g_policy = policy;
}

GemmPolicy gemm_policy() {
  std::call_once(g_policy_once, [] {
    if (!g_policy_set) g_policy = policy_from_environment();
  });
  return g_policy.load();
}

std::span<const MeasuredGemm> measured_gemms() { return kMeasuredGemms; }

GemmChoice choose_gemm(const GemmShape& s, const GemmSite& site, GemmPolicy policy,
                       std::span<const MeasuredGemm> measured) {
  if (policy == GemmPolicy::Ours) return {GemmBackend::Ours, "ours: policy (set_gemm_policy or FULGUR_GEMM=ours)"};
  if (site.emulated) return {GemmBackend::Ours, "ours: the emulated device runs kernel sources only (cuBLASLt needs a GPU)"};
  if (s.m == 0 || s.n == 0 || s.k == 0 || s.batch == 0) return {GemmBackend::Ours, "ours: an empty product"};
  if (!is_16bit(s.dtype) && s.dtype != DType::Float32 && s.dtype != DType::Float64)
    return {GemmBackend::Ours, "ours: the cuBLASLt path takes floating-point types"};
  if (!site.cublaslt_ready) return {GemmBackend::Ours, "ours: cuBLASLt is unavailable: " + site.cublaslt_error};
  if (policy == GemmPolicy::CublasLt) return {GemmBackend::CublasLt, "cuBLASLt: policy (set_gemm_policy or FULGUR_GEMM=cublaslt)"};

  const MeasuredGemm* nearest = nullptr;
  double best = std::numeric_limits<double>::infinity();
  for (const MeasuredGemm& g : measured) {
    if (g.sixteen_bit != is_16bit(s.dtype) || g.compute_capability != site.compute_capability) continue;
    const double d = log_distance(s, g);
    if (d < best) best = d, nearest = &g;
  }
  const std::string sm = "sm_" + std::to_string(site.compute_capability);
  if (nearest == nullptr) {
    return {GemmBackend::CublasLt, std::string("cuBLASLt: no measurement of ours for ") +
                                       (is_16bit(s.dtype) ? "float16/bfloat16" : "float32/float64") + " on " + sm};
  }
  const int pct = static_cast<int>(std::lround(nearest->ours_over_cublas * 100));
  const std::string why = "nearest measured shape " +
                          shape_text(nearest->sixteen_bit ? "16-bit" : "32/64-bit", nearest->m, nearest->n, nearest->k) +
                          " on " + sm + " ran ours at " + std::to_string(pct) + "% of cuBLAS's rate";
  if (nearest->ours_over_cublas >= 1.0) return {GemmBackend::Ours, "ours: " + why};
  return {GemmBackend::CublasLt, "cuBLASLt: " + why};
}

const char* to_string(GemmBackend backend) { return backend == GemmBackend::Ours ? "ours" : "cuBLASLt"; }

}  // namespace fulgur::cuda
