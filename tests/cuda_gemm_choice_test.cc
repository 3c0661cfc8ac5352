// Which GEMM a matmul of CUDA tensors runs (kernels/cuda/gemm_choice.h): the rule on given
// sites and measurement tables, and the answer of this process's emulated device. That cuBLASLt
// gives the CPU's results is checked on a GPU (tests/gpu/cuda_tensor_gpu_test.cc).
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/kernels/cuda/emulated_device.h"
#include "fulgur/kernels/cuda/gemm_choice.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using cuda::choose_gemm;
using cuda::GemmBackend;
using cuda::GemmPolicy;
using cuda::GemmShape;
using cuda::GemmSite;

namespace {

GemmSite hopper() { return {.emulated = false, .compute_capability = 90, .cublaslt_ready = true, .cublaslt_error = ""}; }

bool says(const cuda::GemmChoice& c, const std::string& text) { return c.reason.find(text) != std::string::npos; }

}  // namespace

TEST_CASE("gemm choice: the policy, the emulated device, empty products and a missing cuBLASLt pick ours") {
  const GemmShape big{DType::BFloat16, 4096, 4096, 4096};
  auto c = choose_gemm(big, hopper(), GemmPolicy::Ours);
  CHECK(c.backend == GemmBackend::Ours);
  CHECK(says(c, "policy"));

  GemmSite emulated{.emulated = true};
  c = choose_gemm(big, emulated, GemmPolicy::CublasLt);
  CHECK(c.backend == GemmBackend::Ours);
  CHECK(says(c, "emulated device"));

  for (const GemmShape& empty : {GemmShape{DType::Float32, 0, 4, 4}, GemmShape{DType::Float32, 4, 0, 4},
                                 GemmShape{DType::Float32, 4, 4, 0}, GemmShape{DType::Float32, 4, 4, 4, 0}}) {
    c = choose_gemm(empty, hopper(), GemmPolicy::CublasLt);
    CHECK(c.backend == GemmBackend::Ours);
    CHECK(says(c, "empty product"));
  }
  c = choose_gemm({DType::Int64, 64, 64, 64}, hopper(), GemmPolicy::Auto);
  CHECK(c.backend == GemmBackend::Ours);

  GemmSite missing = hopper();
  missing.cublaslt_ready = false;
  missing.cublaslt_error = "cannot load libcublasLt.so.13";
  c = choose_gemm(big, missing, GemmPolicy::CublasLt);
  CHECK(c.backend == GemmBackend::Ours);
  CHECK(says(c, "cannot load libcublasLt.so.13"));

  c = choose_gemm(big, hopper(), GemmPolicy::CublasLt);
  CHECK(c.backend == GemmBackend::CublasLt);
  CHECK(says(c, "policy"));
}

TEST_CASE("gemm choice: the recorded H200 measurements send every shape to cuBLASLt, naming the nearest") {
  // Every recorded ratio is below 1 (the wgmma kernel and the float32 CUDA-core GEMM on sm_90):
  // cuBLASLt, with the nearest measured shape and its ratio as the reason.
  for (const cuda::MeasuredGemm& g : cuda::measured_gemms()) CHECK(g.ours_over_cublas < 1.0);
  auto c = choose_gemm({DType::BFloat16, 4096, 4096, 4096}, hopper(), GemmPolicy::Auto);
  CHECK(c.backend == GemmBackend::CublasLt);
  CHECK(says(c, "16-bit 4096x4096x4096 on sm_90 ran ours at 91%"));
  c = choose_gemm({DType::Float16, 50, 3000, 800}, hopper(), GemmPolicy::Auto);
  CHECK(says(c, "64x4096x784"));
  CHECK(says(c, "61%"));
  c = choose_gemm({DType::Float16, 10000, 100, 700}, hopper(), GemmPolicy::Auto);
  CHECK(says(c, "8192x128x784"));
  // A batch counts as more rows: 128 batches of 64 rows are nearest the 8192-row GEMM.
  c = choose_gemm({DType::BFloat16, 64, 4096, 4096, 128}, hopper(), GemmPolicy::Auto);
  CHECK(says(c, "8192x4096x4096"));
  // float32 has its own rows (the CUDA-core GEMM); nothing is measured on sm_80: cuBLASLt by
  // default there.
  c = choose_gemm({DType::Float32, 512, 512, 512}, hopper(), GemmPolicy::Auto);
  CHECK(c.backend == GemmBackend::CublasLt);
  CHECK(says(c, "32/64-bit 1024x1024x1024 on sm_90 ran ours at 36%"));
  GemmSite ampere = hopper();
  ampere.compute_capability = 80;
  c = choose_gemm({DType::BFloat16, 4096, 4096, 4096}, ampere, GemmPolicy::Auto);
  CHECK(c.backend == GemmBackend::CublasLt);
  CHECK(says(c, "no measurement of ours for float16/bfloat16 on sm_80"));
}

TEST_CASE("gemm choice: ours where the nearest measurement says ours is faster") {
  const std::vector<cuda::MeasuredGemm> table = {
      {true, 90, 64, 64, 64, 1.4},          // ours faster for small products
      {true, 90, 4096, 4096, 4096, 0.95},   // cuBLASLt for large ones
      {false, 90, 1024, 1024, 1024, 1.0},   // a tie counts for ours
  };
  auto c = choose_gemm({DType::BFloat16, 48, 96, 80}, hopper(), GemmPolicy::Auto, table);
  CHECK(c.backend == GemmBackend::Ours);
  CHECK(says(c, "140%"));
  c = choose_gemm({DType::BFloat16, 2048, 8192, 4096}, hopper(), GemmPolicy::Auto, table);
  CHECK(c.backend == GemmBackend::CublasLt);
  CHECK(says(c, "95%"));
  c = choose_gemm({DType::Float64, 900, 1100, 1000}, hopper(), GemmPolicy::Auto, table);
  CHECK(c.backend == GemmBackend::Ours);
  // The policy still overrides a measured win.
  CHECK(choose_gemm({DType::BFloat16, 64, 64, 64}, hopper(), GemmPolicy::CublasLt, table).backend ==
        GemmBackend::CublasLt);
}

TEST_CASE("gemm choice: this process's emulated device answers ours, and a forced cuBLASLt still computes") {
  cuda::enable_emulated_device();
  const auto c = cuda::gemm_choice({DType::Float32, 128, 128, 128});
  CHECK(c.backend == GemmBackend::Ours);
  CHECK(says(c, "emulated device"));
  cuda::set_gemm_policy(GemmPolicy::CublasLt);
  CHECK(cuda::gemm_policy() == GemmPolicy::CublasLt);
  Tensor a = randn({9, 13}), b = randn({13, 6});
  Tensor on_device = a.to(Device::cuda(0)).matmul(b.to(Device::cuda(0))).to(Device::cpu());
  cuda::set_gemm_policy(GemmPolicy::Auto);
  CHECK((on_device - a.matmul(b)).abs().max().item<float>() < 1e-5f);
  CHECK(std::string(cuda::to_string(GemmBackend::CublasLt)) == "cuBLASLt");
}
