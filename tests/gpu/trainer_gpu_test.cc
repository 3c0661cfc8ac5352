// The Trainer with accelerator="gpu" on a real GPU: tests/trainer_cuda_checks.h's checks (the
// same LightningModule trains on cuda:0 as on the CPU, checkpoints and resume across devices,
// "16-mixed" with its GradScaler, "bf16-mixed", "16-true", "bf16-true"), which
// tests/trainer_cuda_emulated_test.cc runs on the emulated device in every build. Skips
// visibly without a device.
#include "fulgur/distributed/nccl_process_group.h"
#include "fulgur/distributed/self_process_group.h"
#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/trainer/ddp_strategy.h"
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

TEST_CASE("gpu: accelerator=\"auto\" takes the GPU (Lightning's choice when one is present)") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  lightning::Trainer trainer({.accelerator = "auto", .devices = "auto", .enable_progress_bar = false});
  CHECK(trainer.strategy().root_device() == Device::cuda(0));
  CHECK(trainer.accelerator().name() == "cuda");
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

// DDP over NCCL with one rank (the GPU machines lent to this project have one GPU): the
// gradient buckets on cuda:0, NCCL's all-reduce of CUDA tensors, the strategy's collectives.
TEST_CASE("gpu: strategy ddp over NCCL (one rank) trains as the single device does") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  if (!distributed::nccl_is_available()) {
    MESSAGE("DDP over NCCL NOT verified: " << distributed::nccl_unavailable_reason());
    return;
  }
  auto group = distributed::nccl_process_group(std::make_shared<distributed::SelfProcessGroup>(), 0);
  auto strategy = std::make_shared<L::DDPStrategy>(
      L::DDPStrategyOptions{.process_group = group, .parallel_devices = {Device::cuda(0)}});
  CHECK(strategy->root_device() == Device::cuda(0));
  const Run ddp = fit("gpu", 2, "", "", {}, strategy);
  CHECK(strategy->process_group()->backend() == "nccl");
  for (const Device& d : ddp.param_devices) CHECK(d == Device::cuda(0));
  // The reference: the same DDP run over the one-process group staged through host memory
  // (DDP's DistributedSampler orders the data differently from a single-device run).
  auto self = std::make_shared<L::DDPStrategy>(L::DDPStrategyOptions{
      .process_group = std::make_shared<distributed::SelfProcessGroup>(), .parallel_devices = {Device::cuda(0)}});
  const Run reference = fit("gpu", 2, "", "", {}, self);
  // One rank: the averaged gradient is the gradient, so the runs agree to rounding.
  expect_same_run(reference, ddp, 1e-6);
}
