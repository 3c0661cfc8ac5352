// The tensor-core GEMM on the GPU: the mma.sync kernel (kernels/cuda/gemm.cuh) on the
// emulated test's cases against the double reference, then large shapes against cuBLAS
// (cublasGemmStridedBatchedEx, fp32 compute) as a second oracle, with a sample of elements
// also checked in double; then the Hopper wgmma/TMA kernel (gemm_wgmma.cuh) the same way, on
// shapes chosen for its edges. Outputs are poisoned (0xFF = NaN) before each run, so an
// element the kernel never writes fails.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/cuda/gemm_kernel_choice.h"
#include "fulgur/kernels/cuda/gemm_wgmma.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/tests/cuda_gemm_reference.h"
#if FULGUR_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "fulgur/kernels/cuda/device_buffer.h"
#endif

namespace {

namespace ref = fulgur::testing::gemm;
using ref::fresh_rng;

bool skip_without_gpu() {
  if (fulgur::cuda::is_available()) return false;
  MESSAGE("SKIPPED (no GPU): " << fulgur::cuda::unavailable_reason());
  return true;
}

#if FULGUR_WITH_CUDA
using fulgur::cuda::DeviceBuffer;
using fulgur::cuda::Exec;

template <typename T>
DeviceBuffer upload(const std::vector<T>& v) {
  return v.empty() ? DeviceBuffer() : DeviceBuffer::from(v);
}

// The problem's operands on the device and D run through our kernel (D poisoned first).
struct OnDevice {
  DeviceBuffer a, b, bias, residual, d;
  std::vector<uint8_t> result;
};

// Uploads the operands, poisons D, runs `launch` on the device arguments and reads D back.
template <typename Launch>
OnDevice run_on_device(ref::Problem& p, fulgur::cuda::GemmArgs g, Launch launch) {
  OnDevice o;
  o.a = upload(p.a);
  o.b = upload(p.b);
  o.bias = upload(p.bias);
  o.residual = upload(p.residual);
  o.d = DeviceBuffer(p.d.size());
  o.d.fill_bytes(0xFF);
  g.a = o.a.as<uint16_t>() + p.c.offset_a;
  g.b = o.b.as<uint16_t>();
  g.bias = p.c.bias ? o.bias.as<float>() : nullptr;
  g.residual = p.c.residual ? o.residual.data() : nullptr;
  g.d = o.d.data();
  launch(g);
  fulgur::cuda::synchronize("gemm on the GPU");
  o.result = o.d.to_host<uint8_t>();
  return o;
}

OnDevice run_ours(ref::Problem& p) {
  return run_on_device(p, p.args, [](const fulgur::cuda::GemmArgs& g) { fulgur::cuda::gemm<Exec::Gpu>(g); });
}

void check_cublas(cublasStatus_t s, const char* what) {
  INFO(what);
  REQUIRE(s == CUBLAS_STATUS_SUCCESS);
}

// op(A) @ op(B) per batch, row-major M x N fp32, by cuBLAS (column-major: D^T = op(B)^T op(A)^T).
std::vector<float> cublas_product(cublasHandle_t h, const ref::Problem& p, const void* a, const void* b) {
  const ref::Case& c = p.c;
  const auto& g = p.args;
  DeviceBuffer out(static_cast<size_t>(c.batch * c.m * c.n) * sizeof(float));
  const float one = 1.0f, zero = 0.0f;
  const cudaDataType_t t = c.in == ref::GemmDtype::BFloat16 ? CUDA_R_16BF : CUDA_R_16F;
  check_cublas(cublasGemmStridedBatchedEx(h, c.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, c.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          static_cast<int>(c.n), static_cast<int>(c.m), static_cast<int>(c.k), &one, b,
                                          t, static_cast<int>(g.ldb), g.stride_b, a, t, static_cast<int>(g.lda),
                                          g.stride_a, &zero, out.data(), CUDA_R_32F, static_cast<int>(c.n), c.m * c.n,
                                          static_cast<int>(c.batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmStridedBatchedEx");
  fulgur::cuda::synchronize("cublas");
  return out.to_host<float>();
}

// Checks our result against cuBLAS: the product, and |A| @ |B| as the magnitude for the tolerance.
void check_against_cublas(const ref::Problem& p, OnDevice& o, int64_t every) {
  cublasHandle_t h;
  check_cublas(cublasCreate(&h), "cublasCreate");
  const std::vector<float> product = cublas_product(h, p, o.a.as<uint16_t>() + p.c.offset_a, o.b.data());
  std::vector<uint16_t> abs_a = p.a, abs_b = p.b;
  for (auto& v : abs_a) v &= 0x7fffu;
  for (auto& v : abs_b) v &= 0x7fffu;
  DeviceBuffer da = DeviceBuffer::from(abs_a), db = DeviceBuffer::from(abs_b);
  const std::vector<float> magnitude = cublas_product(h, p, da.as<uint16_t>() + p.c.offset_a, db.data());
  cublasDestroy(h);
  ref::check_verdict(p, ref::verify(p, o.result, &product, &magnitude, every), "cuBLAS");
}
#endif

}  // namespace

TEST_CASE("GPU GEMM matches the double reference on every edge case, with every tile shape") {
  if (skip_without_gpu()) return;
#if FULGUR_WITH_CUDA
  std::mt19937 rng = fresh_rng();
  using fulgur::cuda::GemmTiles;
  for (GemmTiles tiles : {GemmTiles::Small, GemmTiles::Large}) {
    for (const ref::Case& c : ref::standard_cases()) {
      ref::Problem p = ref::make_problem(c, rng);
      p.args.tiles = tiles;
      OnDevice o = run_ours(p);
      INFO("tiles " << static_cast<int>(tiles));
      ref::check_verdict(p, ref::verify(p, o.result));
      if (c.k > 0) check_against_cublas(p, o, 1);
    }
  }
#endif
}

TEST_CASE("GPU GEMM agrees with the emulated kernel on small shapes") {
  if (skip_without_gpu()) return;
#if FULGUR_WITH_CUDA
  std::mt19937 rng = fresh_rng();
  ref::Case c;
  c.m = 130, c.n = 70, c.k = 40, c.trans_b = true, c.act = ref::GemmActivation::Gelu, c.bias = true;
  ref::Problem p = ref::make_problem(c, rng);
  OnDevice o = run_ours(p);
  fulgur::cuda::gemm<Exec::Emulated>(p.args);
  // Same algorithm, different accumulation order inside the tensor cores: close, not equal.
  int64_t far = 0;
  for (int64_t i = 0; i < c.m * c.n; ++i) {
    const double x = ref::read_out(o.result, c.out, i), y = ref::read_out(p.d, c.out, i);
    far += !(std::fabs(x - y) <= 1e-4 * (1.0 + std::fabs(y)));
  }
  CHECK(far == 0);
#endif
}

TEST_CASE("GPU GEMM on large shapes matches cuBLAS") {
  if (skip_without_gpu()) return;
#if FULGUR_WITH_CUDA
  std::mt19937 rng = fresh_rng();
  std::vector<ref::Case> cases;
  ref::Case c;
  c.m = c.n = c.k = 1024;
  cases.push_back(c);  // bf16 NN
  c.in = ref::GemmDtype::Float16, c.trans_a = c.trans_b = true;
  cases.push_back(c);  // f16 TT
  c = ref::Case{};
  c.m = 1024, c.n = 1024, c.k = 1024, c.trans_b = true, c.bias = true, c.act = ref::GemmActivation::Gelu;
  c.out = ref::GemmDtype::BFloat16, c.residual = true;
  cases.push_back(c);  // the fused MLP epilogue
  c = ref::Case{};
  c.m = 2000, c.n = 1500, c.k = 1000, c.trans_a = true, c.in = ref::GemmDtype::Float16;
  cases.push_back(c);  // no dimension a tile multiple
  c = ref::Case{};
  c.m = 4096, c.n = 4096, c.k = 4096;
  cases.push_back(c);
  c = ref::Case{};
  c.m = 8192, c.n = 64, c.k = 4096, c.trans_b = true;
  cases.push_back(c);  // tall and skinny
  c = ref::Case{};
  c.m = 512, c.n = 384, c.k = 256, c.batch = 8, c.out = ref::GemmDtype::Float16, c.in = ref::GemmDtype::Float16;
  cases.push_back(c);  // batched
  for (const ref::Case& lc : cases) {
    ref::Problem p = ref::make_problem(lc, rng);  // tiles chosen by shape (GemmTiles::Auto)
    const auto t0 = std::chrono::steady_clock::now();
    OnDevice o = run_ours(p);
    MESSAGE(lc.name() << ": ours incl. transfers "
                      << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
                      << " ms");
    check_against_cublas(p, o, 1);
    // And a sample in double, independent of both GPU libraries.
    ref::check_verdict(p, ref::verify(p, o.result, nullptr, nullptr, 997));
  }
#endif
}

#if FULGUR_WITH_CUDA
namespace {

// True when this GPU runs the wgmma kernel; on an sm_90 device it must (else the test fails).
bool wgmma_runs_here(const fulgur::cuda::GemmArgs& args) {
  const auto used = fulgur::cuda::gemm_kernel_for<Exec::Gpu>(args);
  cudaDeviceProp prop{};
  REQUIRE(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  if (prop.major * 10 + prop.minor != 90) {
    MESSAGE("SKIPPED (wgmma runs on compute capability 9.0 only): " << used.why);
    return false;
  }
  INFO(used.why);
  REQUIRE(used.kernel == fulgur::cuda::GemmKernel::Wgmma);
  return true;
}

// D through the wgmma kernel itself (not gemm(), which would fall back to mma.sync if the
// kernel declined): the test fails unless wgmma ran.
OnDevice run_wgmma(ref::Problem& p) {
  return run_on_device(p, fulgur::cuda::with_leading_dimensions(p.args), [](const fulgur::cuda::GemmArgs& g) {
    std::string why;
    const bool ran = fulgur::cuda::gemm_wgmma<Exec::Gpu>(g, nullptr, &why);
    INFO(why);
    REQUIRE(ran);
  });
}

}  // namespace
#endif

TEST_CASE("GPU wgmma GEMM (sm_90) matches the double reference and cuBLAS, with both tile widths, alone and in pairs") {
  if (skip_without_gpu()) return;
#if FULGUR_WITH_CUDA
  std::mt19937 rng = fresh_rng();
  const std::vector<ref::Case> cases = ref::wgmma_cases(ref::WgmmaScale::Gpu);
  {
    ref::Problem probe = ref::make_problem(cases.front(), rng);
    probe.args.kernel = fulgur::cuda::GemmKernel::Wgmma;
    if (!wgmma_runs_here(probe.args)) return;
  }
  ref::for_each_wgmma_run(cases, rng, [](ref::Problem& p) {
    REQUIRE(fulgur::cuda::choose_gemm_kernel(p.args, 90).kernel == fulgur::cuda::GemmKernel::Wgmma);
    OnDevice o = run_wgmma(p);
    const bool small = p.c.m * p.c.n * p.c.k * p.c.batch <= (int64_t{1} << 24);
    ref::check_verdict(p, ref::verify(p, o.result, nullptr, nullptr, small ? 1 : 101));
    check_against_cublas(p, o, 1);
  });
  // And through gemm() with the tiles left to it, as the benchmark and users call it.
  ref::Problem p = ref::make_problem(cases[2], rng);
  p.args.kernel = fulgur::cuda::GemmKernel::Wgmma;
  OnDevice o = run_ours(p);
  check_against_cublas(p, o, 1);
#endif
}

TEST_CASE("GPU wgmma GEMM at 4096^3 and 8192 x 8192 x 4096 matches cuBLAS") {
  if (skip_without_gpu()) return;
#if FULGUR_WITH_CUDA
  std::mt19937 rng = fresh_rng();
  ref::Case c;
  c.m = c.n = c.k = 4096;
  std::vector<ref::Case> cases = {c};
  c.m = 8192, c.n = 8192, c.k = 4096, c.in = ref::GemmDtype::Float16, c.trans_b = true, c.out = ref::GemmDtype::Float16;
  cases.push_back(c);
  for (const ref::Case& lc : cases) {
    for (const fulgur::cuda::GemmCluster cluster : {fulgur::cuda::GemmCluster::Off, fulgur::cuda::GemmCluster::Pairs}) {
      ref::Problem p = ref::make_problem(lc, rng);
      p.args.kernel = fulgur::cuda::GemmKernel::Wgmma;
      p.args.cluster = cluster;
      INFO("case " << p.c.name() << (cluster == fulgur::cuda::GemmCluster::Pairs ? ", pairs" : ", alone"));
      if (!wgmma_runs_here(p.args)) return;
      OnDevice o = run_wgmma(p);
      check_against_cublas(p, o, 1);
      ref::check_verdict(p, ref::verify(p, o.result, nullptr, nullptr, 9973));
    }
  }
#endif
}
