// A DDP training run in which rank 1 fails at its third batch, for trainer_ddp_failure_test.sh:
//   ddp_failure_main raise   rank 1 throws from training_step
//   ddp_failure_main kill    rank 1 SIGKILLs itself in training_step
//   ddp_failure_main none    nobody fails (the control run: must succeed)
// Rank 0 would otherwise train for a long time (and wait in its collectives), so the job
// ending quickly shows that one rank's failure ends every rank.
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "fulgur/fulgur.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

class Model : public L::LightningModule {
 public:
  explicit Model(std::string mode) : mode_(std::move(mode)) { layer = register_module("layer", nn::Linear(4, 1)); }
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override {
    if (trainer().global_rank() == 1 && batch_idx == 2 && trainer().current_epoch() == 0) {
      if (mode_ == "raise") throw std::runtime_error("rank 1 failed on purpose");
      if (mode_ == "kill") std::raise(SIGKILL);
    }
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss((*layer)(x), y);
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
  std::shared_ptr<nn::Linear> layer;

 private:
  std::string mode_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "none";
  manual_seed(0);
  auto ds = std::make_shared<data::TensorDataset>(randn({64, 4}), randn({64, 1}));
  Model model(mode);
  // "none" runs 2 epochs; the failing modes would run 2000 (minutes) if the failure did not end them.
  L::Trainer trainer({.max_epochs = mode == "none" ? 2 : 2000, .strategy = "ddp", .logger = false,
                      .enable_checkpointing = false, .enable_progress_bar = false, .enable_model_summary = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  std::printf("rank %lld finished %lld steps\n", static_cast<long long>(trainer.global_rank()),
              static_cast<long long>(trainer.global_step()));
  return 0;
}
