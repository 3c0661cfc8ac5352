// End-to-end training throughput: the 784-H-10 MLP on Fashion-MNIST (Debian's
// dataset-fashion-mnist, 60,000 images) through L::Trainer + data::DataLoader (shuffled,
// ToTensor + Normalize), one epoch per round, progress bar / summary / checkpointing / loggers
// off. Reports the median samples per second over the rounds. Reference points on this
// machine (issue 6): PyTorch 1.13 eager with its DataLoader ~50,000 (H=128, B=64) and ~46,000
// (H=1024, B=256) samples/s; LibTorch's hand-written loop ~203,000 and ~44,000. Targets:
// 300,000 and 50,000.
//
//   bazel run -c opt //bench:mlp_train -- --json
//   {"bench":"mlp_train","hidden":128,"batch":64,"threads":2,"ranks":1,"samples_per_s":...}
//
// Data-parallel (issue 8): --strategy=ddp under mpirun, each rank reading its half of the
// epoch with batch B (global batch B x ranks); samples/s counts the whole epoch, rank 0 prints.
//   mpirun --allow-run-as-root -np 2 bazel-bin/bench/mlp_train --json --strategy=ddp --threads=1
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace F = fulgur::nn::functional;
namespace L = fulgur::lightning;
namespace T = fulgur::data::transforms;
using fulgur::Tensor;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

class MLP : public L::LightningModule {
 public:
  explicit MLP(int64_t hidden) {
    using namespace fulgur;
    net_ = register_module(
        "net", std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear(784, hidden), nn::ReLU(), nn::Linear(hidden, 10)));
  }
  Tensor forward(const Tensor& x) override { return net_->forward(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss);
    return loss;
  }
  L::OptimizerConfig configure_optimizers() override { return fulgur::optim::Adam(parameters(), {.lr = 1e-3}); }

 private:
  std::shared_ptr<fulgur::nn::Sequential> net_;
};

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  int threads = 2;
  int rounds = 5;
  std::string root = "data";
  std::string strategy = "auto";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") json = true;
    else if (arg.rfind("--threads=", 0) == 0) threads = std::stoi(arg.substr(10));
    else if (arg.rfind("--rounds=", 0) == 0) rounds = std::stoi(arg.substr(9));
    else if (arg.rfind("--data_dir=", 0) == 0) root = arg.substr(11);
    else if (arg.rfind("--strategy=", 0) == 0) strategy = arg.substr(11);
    else {
      std::fprintf(stderr, "usage: mlp_train [--json] [--threads=N] [--rounds=N] [--data_dir=DIR] [--strategy=ddp]\n");
      return 2;
    }
  }
  fulgur::set_num_threads(threads);
  fulgur::manual_seed(42);
  auto train = std::make_shared<fulgur::data::FashionMNIST>(
      root, fulgur::data::MNISTOptions{.train = true,
                                       .transform = T::Compose({T::ToTensor(), T::Normalize({0.2860}, {0.3530})})});
  const struct {
    int64_t hidden, batch;
  } configs[] = {{128, 64}, {1024, 256}};
  for (const auto& c : configs) {
    MLP model(c.hidden);
    fulgur::data::DataLoader loader(train, {.batch_size = c.batch, .shuffle = true});
    std::vector<double> rates;
    int64_t ranks = 1;
    bool rank_zero = true;
    for (int r = 0; r < rounds + 1; ++r) {  // round 0 warms caches and is not counted
      L::Trainer trainer({.max_epochs = 1,
                          .strategy = strategy,
                          .logger = false,
                          .num_sanity_val_steps = 0,
                          .enable_checkpointing = false,
                          .enable_progress_bar = false,
                          .enable_model_summary = false});
      ranks = trainer.world_size();
      rank_zero = trainer.is_global_zero();
      const auto t0 = Clock::now();
      trainer.fit(model, loader);
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      if (r > 0) rates.push_back(static_cast<double>(train->size()) / seconds);
    }
    if (!rank_zero) continue;
    if (json) {
      std::printf("{\"bench\":\"mlp_train\",\"hidden\":%lld,\"batch\":%lld,\"threads\":%d,\"ranks\":%lld,"
                  "\"strategy\":\"%s\",\"samples_per_s\":%.0f}\n",
                  static_cast<long long>(c.hidden), static_cast<long long>(c.batch), threads,
                  static_cast<long long>(ranks), strategy.c_str(), median(rates));
    } else {
      std::printf("mlp_train 784-%lld-10 batch %lld: %.0f samples/s (%d threads x %lld ranks, %s, median of %d "
                  "epochs)\n", static_cast<long long>(c.hidden), static_cast<long long>(c.batch), median(rates),
                  threads, static_cast<long long>(ranks), strategy.c_str(), rounds);
    }
  }
  return 0;
}
