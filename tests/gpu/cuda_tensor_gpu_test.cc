// CUDA tensors on a real GPU: the checks of tests/cuda_tensor_checks.h (every family of the
// CUDA backend's kernel table vs the CPU backend, round trips, errors, autograd), which
// tests/cuda_tensor_emulated_test.cc runs on the emulated device in every build. Here the
// kernels are the nvcc build (Exec::Gpu) and memory comes from the caching allocator over
// cudaMalloc. Skips visibly without a device.
#include <string>

#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/kernels/cuda/gemm_choice.h"
#include "fulgur/tests/cuda_tensor_checks.h"
#include "fulgur/tests/cuda_fused_checks.h"
#include "fulgur/tests/cuda_pinned_checks.h"
#include "fulgur/tests/cuda_tensor_nn_checks.h"
#include "tests/gpu/skip_without_gpu.h"

using namespace fulgur;
using namespace fulgur::cuda_checks;

namespace {

// The backend must be the GPU's, not the emulated device (FULGUR_CUDA_EMULATION=1 would
// make these checks run on the CPU and prove nothing about the device).
void require_real_gpu() {
  (void)ones({1}, {.device = kDev});
  REQUIRE_MESSAGE(cuda::backend_kind() == cuda::BackendKind::Gpu,
                  "cuda:0 is not a real GPU here; unset FULGUR_CUDA_EMULATION");
}

}  // namespace

TEST_CASE("gpu: cuda:0 is a real device with the caching allocator") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  MESSAGE("running on " << cuda::tensor_device_name(0));
  CHECK(cuda::tensor_device_name(0).find("emulated") == std::string::npos);
  Tensor d = ones({5, 3}, {.device = kDev});
  CHECK(reinterpret_cast<uintptr_t>(d.data_ptr()) % 256 == 0);
  CHECK(d.sum().item().to_double() == 15.0);
}

TEST_CASE("gpu: to(cuda) round trips every dtype and special value") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_round_trip();
}

TEST_CASE("gpu: copy between every dtype pair, any strides") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(1);
  check_copy(rng);
}

TEST_CASE("gpu: fill") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(2);
  check_fill(rng);
}

TEST_CASE("gpu: every unary op") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(3);
  check_unary(rng, /*emulated=*/false);
}

TEST_CASE("gpu: every binary op") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(4);
  check_binary(rng, /*emulated=*/false);
}

TEST_CASE("gpu: where and clamp") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(5);
  check_where_clamp(rng);
}

TEST_CASE("gpu: reductions") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(6);
  check_reduce(rng);
}

TEST_CASE("gpu: arange and linspace") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_sequence();
}

TEST_CASE("gpu: errors: mixed devices, dtypes a CUDA kernel lacks") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_errors();
}

TEST_CASE("gpu: matmul, batched and transposed, and linear; gradients through them") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(13);
  check_matmul(rng);
}

// cuBLASLt (run.sh puts libcublasLt on the library path) and our GEMMs, each forced in turn.
TEST_CASE("gpu: matmul gives the CPU's results on cuBLASLt and on ours; the choice says which") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  const cuda::GemmChoice big = cuda::gemm_choice({DType::BFloat16, 4096, 4096, 4096});
  MESSAGE("bf16 4096^3: " << big.reason);
  CHECK(big.backend == cuda::GemmBackend::CublasLt);
  MESSAGE("fp32 300x200x1024: " << cuda::gemm_choice({DType::Float32, 300, 200, 1024}).reason);
  for (const cuda::GemmPolicy policy : {cuda::GemmPolicy::CublasLt, cuda::GemmPolicy::Ours}) {
    INFO("policy " << (policy == cuda::GemmPolicy::Ours ? "ours" : "cuBLASLt"));
    cuda::set_gemm_policy(policy);
    std::mt19937 rng(17);
    check_matmul(rng);
    check_matmul_layouts(rng, /*large_shapes=*/true);
  }
  cuda::set_gemm_policy(cuda::GemmPolicy::Auto);
}

TEST_CASE("gpu: autograd gives the CPU's gradients") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(7);
  check_autograd(rng, /*emulated=*/false);
}

TEST_CASE("gpu: gather, scatter, index_select and masked_select on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(21);
  check_indexing(rng);
}

TEST_CASE("gpu: sort, argsort and topk on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(22);
  check_sort(rng);
}

TEST_CASE("gpu: random fills: the CPU's Philox values for the same seed on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_random(1e-12);
}

TEST_CASE("gpu: unfold, fold, max pooling and conv2d on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(23);
  check_windows(rng);
}

TEST_CASE("gpu: softmax and log_softmax along every dim on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(24);
  check_softmax(rng);
}

TEST_CASE("gpu: a small CNN's loss and gradients on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(25);
  check_cnn_gradients(rng);
}

TEST_CASE("gpu: cross_entropy through the fused kernels on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(26);
  check_cross_entropy(rng);
}

TEST_CASE("gpu: layer_norm through the fused kernels on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(27);
  check_layer_norm(rng);
  check_layer_norm_many_rows(rng);
}

TEST_CASE("gpu: Adam and AdamW through the multi-tensor kernel on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(28);
  check_adam(rng);
}

TEST_CASE("gpu: GradScaler's fused unscale and inf check on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(29);
  check_grad_scaler(rng);
}

TEST_CASE("gpu: pin_memory (cudaHostAlloc), asynchronous copies, no reuse while a copy is in flight") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(30);
  check_pinned_memory(rng, /*real_gpu=*/true);
}
