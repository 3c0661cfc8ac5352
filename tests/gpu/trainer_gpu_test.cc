// The Trainer with accelerator="gpu" on a real GPU: tests/trainer_cuda_checks.h's checks (the
// same LightningModule trains on cuda:0 as on the CPU, checkpoints and resume across devices,
// "16-mixed" with its GradScaler, "bf16-mixed", "16-true", "bf16-true"), which
// tests/trainer_cuda_emulated_test.cc runs on the emulated device in every build. Skips
// visibly without a device.
#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/tests/trainer_cuda_checks.h"
#include "tests/gpu/skip_without_gpu.h"

using namespace fulgur;
using namespace fulgur::trainer_cuda_checks;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

// The backend must be the GPU's, not the emulated device.
void require_real_gpu() {
  (void)ones({1}, {.device = Device::cuda(0)});
  REQUIRE_MESSAGE(cuda::backend_kind() == cuda::BackendKind::Gpu,
                  "cuda:0 is not a real GPU here; unset FULGUR_CUDA_EMULATION");
}

}  // namespace

TEST_CASE("gpu: accelerator=\"gpu\" trains the same LightningModule on cuda:0 as on the CPU") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_fit_matches_cpu();
}

TEST_CASE("gpu: a checkpoint written on cuda loads on the CPU; resuming on cuda continues as on the CPU") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_checkpoint_and_resume();
}

TEST_CASE("gpu: precision=\"16-mixed\": float16 GEMMs, a GradScaler that skips a NaN step, saved and resumed") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_16_mixed();
}

TEST_CASE("gpu: bf16-mixed, 16-true and bf16-true train close to the float32 run") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_16bit_precisions();
}
