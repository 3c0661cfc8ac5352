// A small CNN on MNIST (Fashion-MNIST when MNIST is unavailable) through the LightningCLI, with
// the Trainer's precision and accelerator flags: the same module runs wherever the Trainer
// puts it.
//
//   ./bazelw run //examples:mnist_cnn                                       # 2 epochs, fit then test
//   ./bazelw run //examples:mnist_cnn -- --trainer.precision=64-true --trainer.accelerator=cpu
//   ./bazelw run //examples:mnist_cnn -- --model.channels=32 --trainer.max_epochs=5
//
// Precision: "32-true", "64-true" (module and batches in float64), "bf16-mixed" (convs and
// linears under autocast in bfloat16, float32 parameters) and "bf16-true" (everything in
// bfloat16); "16-*" needs CUDA and fails with the Trainer's message (docs/TRAINER.md,
// "Precision"). Accelerator: "cpu" or "auto" (the CUDA backend is not wired into the Trainer yet).
// --min_accuracy=A: exit 1 below that test accuracy (the example also runs as a test).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "examples/example_main.h"
#include "examples/mnist_data.h"
#include "fulgur/fulgur.h"

using namespace fulgur;
namespace F = fulgur::nn::functional;
namespace L = fulgur::lightning;

class LitCNN : public L::LightningModule {
 public:
  explicit LitCNN(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"channels", 16}, {"lr", 2e-3}})) {
    save_hyperparameters();
    const int64_t c = hparam<int64_t>("channels");
    // 28x28 -> conv 3x3 -> pool -> 14x14 -> conv 3x3 -> pool -> 7x7 -> linear.
    net_ = register_module("net", std::make_shared<nn::Sequential>(
                                      nn::Conv2d(1, c, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                                      nn::Conv2d(c, 2 * c, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                                      nn::Flatten(), nn::Linear(2 * c * 7 * 7, 10)));
    acc_ = register_module(
        "acc", std::make_shared<metrics::Accuracy>(metrics::AccuracyOptions{.task = "multiclass", .num_classes = 10}));
  }
  Tensor forward(const Tensor& x) override { return net_->forward(x); }

  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override { evaluate(batch, "val"); }
  void test_step(const L::Batch& batch, int64_t) override { evaluate(batch, "test"); }
  L::OptimizerConfig configure_optimizers() override {
    return optim::Adam(parameters(), {.lr = hparam<double>("lr")});
  }

 private:
  void evaluate(const L::Batch& batch, const std::string& stage) {
    auto [x, y] = batch.unpack<2>();
    Tensor logits = forward(x);
    log(stage + "_loss", F::cross_entropy(logits, y), {.prog_bar = true});
    acc_->update(logits, y);
    log(stage + "_acc", acc_, {.prog_bar = true});
  }

  std::shared_ptr<nn::Sequential> net_;
  std::shared_ptr<metrics::Accuracy> acc_;
};

int main(int argc, char** argv) {
  const auto [args, min_accuracy] = examples::example_args(argc, argv);
  try {
    L::LightningCLI<LitCNN, examples::MNISTData> cli(
        argc, argv,
        {.trainer_defaults = {.max_epochs = 2},
         .seed_everything_default = 42,
         .description = "Train a small CNN on MNIST (Fashion-MNIST when MNIST is unavailable)",
         .prog = "mnist_cnn",
         .args = args,
         .default_subcommands = {"fit", "test"}});
    if (cli.exit_requested()) return cli.exit_code();
    if (cli.results().empty()) return 0;
    const double accuracy = cli.results().at(0).at("test_acc");
    std::printf("%s test accuracy %.4f (precision %s)\n", cli.datamodule().dataset_name().c_str(), accuracy,
                cli.trainer().precision().c_str());
    if (accuracy < min_accuracy) {
      std::fprintf(stderr, "test accuracy %.4f is below %.2f\n", accuracy, min_accuracy);
      return 1;
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
