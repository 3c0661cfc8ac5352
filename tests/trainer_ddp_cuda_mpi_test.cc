// strategy="ddp" on CUDA tensors under `mpirun -np 2` (fulgur_mpi_test): each rank runs on the
// emulated cuda:0 of its own process (kernels/cuda/emulated_device.h), and the group is MPI
// staged through host memory (distributed/host_staged_process_group.h), which is what DDP
// picks on GPUs without NCCL. The NCCL path needs real GPUs: tests/gpu. Expectations come from a
// single-process CPU run of the same model on the same data.
#include <cmath>
#include <string>
#include <vector>

#include "fulgur/distributed/host_staged_process_group.h"
#include "fulgur/kernels/cuda/emulated_device.h"
#include "fulgur/trainer/ddp_strategy.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
using fulgur::testing::quiet_options;
using fulgur::testing::regression_data;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

const Device kCuda = Device::cuda(0);

// A small MLP on the 3-feature regression data, SGD with momentum; records where its batches
// and parameters were during the steps.
class Mlp : public L::LightningModule {
 public:
  Mlp() {
    manual_seed(1);
    l1 = register_module("l1", nn::Linear(3, 8));
    l2 = register_module("l2", nn::Linear(8, 1));
  }
  Tensor forward(const Tensor& x) override { return (*l2)((*l1)(x).tanh()); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    batch_device = x.device();
    param_device = l1->parameter("weight").device();
    Tensor loss = F::mse_loss(forward(x), y);
    log("train_loss", loss, {.on_step = true, .on_epoch = true, .sync_dist = true});
    return loss;
  }
  L::OptimizerConfig configure_optimizers() override {
    return optim::SGD(parameters(), {.lr = 0.05, .momentum = 0.9});
  }
  std::shared_ptr<nn::Linear> l1, l2;
  Device batch_device = kCPU, param_device = kCPU;
};

L::TrainerOptions ddp_on_cuda(std::shared_ptr<L::DDPStrategy> strategy, L::TrainerOptions o = {}) {
  o = quiet_options(std::move(o));
  o.strategy = std::move(strategy);
  o.accelerator = "gpu";
  o.precision = "64-true";
  o.limit_val_batches = 0;
  return o;
}

std::shared_ptr<L::DDPStrategy> strategy_on_cuda(L::DDPStrategyOptions o = {}) {
  // Both processes use their own emulated cuda:0 (on GPUs: cuda:local_rank by default).
  o.parallel_devices = {kCuda, kCuda};
  return std::make_shared<L::DDPStrategy>(std::move(o));
}

void check_same_parameters(nn::Module& got, nn::Module& want, double tol) {
  const auto a = got.named_parameters();
  const auto b = want.named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<double> x = a[i].second.to(kCPU).to_vector<double>();
    const std::vector<double> y = b[i].second.to_vector<double>();
    REQUIRE(x.size() == y.size());
    for (size_t j = 0; j < x.size(); ++j) {
      INFO(a[i].first, "[", j, "]: ddp on cuda ", x[j], ", one process on the CPU ", y[j]);
      CHECK(std::abs(x[j] - y[j]) <= tol * (1 + std::abs(y[j])));
    }
  }
}

}  // namespace

TEST_CASE("ddp on cuda: 2 ranks x batch B on cuda train like 1 CPU process x batch 2B") {
  cuda::enable_emulated_device();
  unsetenv("PL_GLOBAL_SEED");
  auto ds = regression_data(32);
  Mlp model, reference;
  auto strategy = strategy_on_cuda();
  L::Trainer trainer(ddp_on_cuda(strategy, {.max_epochs = 2}));
  CHECK(trainer.world_size() == 2);
  CHECK(strategy->root_device() == kCuda);
  // No NCCL on the emulated device: MPI, staged through host memory.
  CHECK(strategy->process_group_backend() == "mpi");
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  CHECK(dynamic_cast<distributed::HostStagedProcessGroup*>(strategy->process_group().get()) != nullptr);
  CHECK(trainer.global_step() == 8);
  CHECK(model.batch_device == kCuda);
  CHECK(model.param_device == kCuda);
  // The logged loss was reduced across the ranks (sync_dist) from CUDA tensors.
  CHECK(trainer.callback_metrics().count("train_loss_epoch") == 1);
  L::Trainer single(quiet_options({.max_epochs = 2, .precision = "64-true", .limit_val_batches = 0}));
  single.fit(reference, data::DataLoader(ds, {.batch_size = 8}));
  // float64 on both sides; the emulated GEMM sums in another order than the CPU's.
  check_same_parameters(model, reference, 1e-9);
}

TEST_CASE("ddp on cuda: unused parameters are found across ranks with device flags") {
  cuda::enable_emulated_device();
  struct WithUnused : Mlp {
    WithUnused() { unused = register_parameter("unused", ones({2})); }
    Tensor unused;
  };
  WithUnused model;
  Mlp reference;
  L::Trainer trainer(ddp_on_cuda(strategy_on_cuda({.find_unused_parameters = true}), {.max_epochs = 1}));
  trainer.fit(model, data::DataLoader(regression_data(8), {.batch_size = 2}));
  CHECK_FALSE(model.unused.grad().defined());
  CHECK(model.unused.device() == kCuda);
  L::Trainer single(quiet_options({.max_epochs = 1, .precision = "64-true", .limit_val_batches = 0}));
  single.fit(reference, data::DataLoader(regression_data(8), {.batch_size = 4}));
  CHECK(std::abs(model.l2->parameter("bias").item<double>() - reference.l2->parameter("bias").item<double>()) < 1e-9);
}

TEST_CASE("ddp on cuda: the strategy's collectives take and return tensors on their devices") {
  cuda::enable_emulated_device();
  auto strategy = strategy_on_cuda();
  L::Trainer trainer(ddp_on_cuda(strategy, {.max_epochs = 1}));
  L::Strategy& s = trainer.strategy();
  const double r = static_cast<double>(trainer.global_rank());
  const Tensor on_device = s.reduce(full({2}, r, {.device = kCuda}), "sum");
  CHECK(on_device.device() == kCuda);
  CHECK(on_device.to(kCPU).to_vector<double>() == std::vector<double>{1, 1});
  const Tensor on_host = s.reduce(scalar_tensor(r), "mean");
  CHECK(on_host.device() == kCPU);
  CHECK(on_host.item<double>() == 0.5);
  const Tensor gathered = s.all_gather(full({2}, r + 1, {.device = kCuda}));
  CHECK(gathered.device() == kCuda);
  CHECK(gathered.to(kCPU).to_vector<double>() == std::vector<double>{1, 1, 2, 2});
  CHECK(s.reduce_boolean_decision(r == 0, true) == false);
  CHECK(s.reduce_boolean_decision(r == 0, false) == true);
  // Every rank starts from rank 0's parameters, broadcast on the device.
  manual_seed(100 + static_cast<uint64_t>(r));
  nn::Linear layer(2, 2);
  layer.to(kCuda);
  Tensor w = layer.parameter("weight").detach();
  strategy->process_group()->broadcast(w, 0);
  const std::vector<std::string> all = s.all_gather_strings(w.to(kCPU).to_vector<float>().empty() ? "" :
                                                            std::to_string(w.to(kCPU).to_vector<float>()[0]));
  CHECK(all[0] == all[1]);
}

TEST_CASE("ddp: process_group_backend names are checked, and nccl says what it needs") {
  const std::string bad = fulgur::testing::error_message_of(
      [] { L::DDPStrategy strategy(L::DDPStrategyOptions{.process_group_backend = "gloo"}); });
  CHECK(bad.find("process_group_backend=\"gloo\" is not available") != std::string::npos);
  CHECK(bad.find("\"mpi\"") != std::string::npos);
  // On CPU devices the automatic choice is MPI.
  L::DDPStrategy cpu_strategy(L::DDPStrategyOptions{.parallel_devices = {kCPU, kCPU}});
  CHECK(cpu_strategy.process_group_backend() == "mpi");
}
