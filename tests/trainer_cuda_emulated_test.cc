// The Trainer with accelerator="gpu" on the emulated CUDA device (kernels/cuda/emulated_device.h):
// tests/trainer_cuda_checks.h's checks (the same LightningModule trains on cuda:0 as on the CPU,
// checkpoints and resume across devices, 16-bit precisions with a GradScaler), and what is
// particular to the emulated device ("auto" never picks it; it is one device).
#include <string>

#include "fulgur/kernels/cuda/emulated_device.h"
#include "fulgur/tests/trainer_cuda_checks.h"

using namespace fulgur;
using namespace fulgur::trainer_cuda_checks;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

}  // namespace

TEST_CASE("accelerator=\"gpu\" trains the same LightningModule on the emulated cuda:0 as on the CPU") {
  cuda::enable_emulated_device();
  check_fit_matches_cpu();
}

TEST_CASE("a checkpoint written on cuda loads on the CPU; resuming on cuda continues as on the CPU") {
  cuda::enable_emulated_device();
  check_checkpoint_and_resume();
}

TEST_CASE("precision=\"16-mixed\" on cuda: float16 GEMMs, a GradScaler that skips a NaN step, saved and resumed") {
  cuda::enable_emulated_device();
  check_16_mixed();
}

TEST_CASE("bf16-mixed, 16-true and bf16-true train on cuda close to the float32 run") {
  cuda::enable_emulated_device();
  check_16bit_precisions();
}

TEST_CASE("accelerator=\"auto\" never picks the emulated device; devices beyond it are refused") {
  cuda::enable_emulated_device();
  L::Trainer automatic(fulgur::testing::quiet_options({}));
  CHECK(automatic.strategy().root_device() == kCPU);
  L::Trainer gpu(fulgur::testing::quiet_options({.accelerator = "gpu"}));
  CHECK(gpu.strategy().root_device() == Device::cuda(0));
  const std::string e = fulgur::testing::error_message([] {
    L::Trainer t(fulgur::testing::quiet_options({.accelerator = "gpu", .devices = "[1]"}));
  });
  CHECK_MESSAGE(e.find("only has: 1 GPU(s)") != std::string::npos, e);
  // "16-mixed" is float16 autocast on CUDA only; on the CPU it becomes "bf16-mixed", as in Lightning.
  for (const char* p : {"16-mixed", "16-true"}) {
    L::Trainer on_gpu(fulgur::testing::quiet_options({.accelerator = "gpu", .precision = p}));
    CHECK(on_gpu.precision() == p);
  }
  L::Trainer cpu_mixed(fulgur::testing::quiet_options({.accelerator = "cpu", .precision = "16-mixed"}));
  CHECK(cpu_mixed.precision() == "bf16-mixed");
  L::Trainer f64(fulgur::testing::quiet_options({.accelerator = "gpu", .precision = "64-true"}));
  CHECK(f64.strategy().root_device() == Device::cuda(0));
}
