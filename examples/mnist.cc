// The seed's appendix in C++: LitClassifier (the 784-128-10 MLP), an MNIST DataModule,
// ModelCheckpoint + EarlyStopping, fit, test, the best checkpoint's path, a reload from it,
// and an ONNX export next to it, all driven by the LightningCLI's flags.
//
//   ./bazelw run //examples:mnist                                    # fit (5 epochs), then test
//   ./bazelw run //examples:mnist -- --trainer.max_epochs=1 --model.lr=2e-3 --data.batch_size=128
//   ./bazelw run //examples:mnist -- --config my.yaml                # a --print_config output, edited
//   ./bazelw run //examples:mnist -- test --ckpt_path=lightning_logs/version_0/checkpoints/last.ckpt
//   ./bazelw run //examples:mnist -- --help
//   mpirun -np 2 bazel-bin/examples/mnist --trainer.strategy=ddp      # data-parallel (docs/DISTRIBUTED.md)
//
// Data: MNIST from --data.data_dir (./data), downloaded there when the network allows; when it
// cannot be had, Fashion-MNIST from Debian's dataset-fashion-mnist package. The program says
// which one it uses. Logs, checkpoints, config.yaml and model.onnx go to
// lightning_logs/version_N/ under the directory the command was run from (bazel run's
// BUILD_WORKING_DIRECTORY), or under --trainer.default_root_dir.
//
// --min_accuracy=A (not a Lightning flag; taken out before the CLI parses): exit 1 when the
// reloaded best model's test accuracy is below A, so that the example also runs as a test.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"
#include "fulgur/nn/onnx/session.h"
#include "examples/example_main.h"
#include "examples/mnist_data.h"

using namespace fulgur;
namespace F = fulgur::nn::functional;
namespace L = fulgur::lightning;
using fulgur::examples::MNISTData;

class LitClassifier : public L::LightningModule {
 public:
  explicit LitClassifier(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"in_dim", 784}, {"hidden", 128}, {"n_classes", 10}, {"lr", 1e-3}})) {
    save_hyperparameters();  // stored in every checkpoint
    net_ = register_module("net", std::make_shared<nn::Sequential>(
                                      nn::Flatten(), nn::Linear(hparam<int64_t>("in_dim"), hparam<int64_t>("hidden")),
                                      nn::ReLU(), nn::Linear(hparam<int64_t>("hidden"), hparam<int64_t>("n_classes"))));
    acc_ = register_module("acc", std::make_shared<metrics::Accuracy>(metrics::AccuracyOptions{
                                      .task = "multiclass", .num_classes = hparam<int64_t>("n_classes")}));
  }
  Tensor forward(const Tensor& x) override { return net_->forward(x); }

  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss, {.prog_bar = true});
    return loss;  // the Trainer calls backward and step
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
    // sync_dist: under --trainer.strategy=ddp the monitored loss is the mean over all ranks.
    log(stage + "_loss", F::cross_entropy(logits, y), {.prog_bar = true, .sync_dist = true});
    acc_->update(logits, y);
    log(stage + "_acc", acc_, {.prog_bar = true});  // a metric object: computed at epoch end
  }

  std::shared_ptr<nn::Sequential> net_;
  std::shared_ptr<metrics::Accuracy> acc_;
};

namespace {

// Test accuracy of a model on the datamodule's test loader, with the Trainer's test loop.
double test_accuracy(L::LightningModule& model, MNISTData& dm) {
  L::Trainer trainer({.logger = false, .enable_checkpointing = false, .enable_progress_bar = false,
                      .enable_model_summary = false});
  return trainer.test(model, dm, {.verbose = false}).at(0).at("test_acc");
}

}  // namespace

int main(int argc, char** argv) {
  const auto [args, min_accuracy] = examples::example_args(argc, argv);
  try {
    auto checkpoint = std::make_shared<L::callbacks::ModelCheckpoint>(
        L::callbacks::ModelCheckpointOptions{.monitor = "val_loss", .mode = "min", .save_top_k = 1});
    auto early = std::make_shared<L::callbacks::EarlyStopping>(
        L::callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = 3, .mode = "min"});
    L::LightningCLI<LitClassifier, MNISTData> cli(
        argc, argv,
        {.trainer_defaults = {.callbacks = {checkpoint, early}, .max_epochs = 5},
         .seed_everything_default = 42,
         .description = "Train the seed's LitClassifier on MNIST (Fashion-MNIST when MNIST is unavailable)",
         .prog = "mnist",
         .args = args,
         .default_subcommands = {"fit", "test"}});
    if (cli.exit_requested()) return cli.exit_code();

    const std::string best = checkpoint->best_model_path();
    if (best.empty()) return 0;  // validate / test / predict runs, or a fit that saved nothing
    std::printf("best checkpoint: %s (val_loss %.4f)\n", best.c_str(), checkpoint->best_model_score().value_or(0));

    // Reload a ready-to-use model from it: no constructor arguments needed.
    auto reloaded = L::load_from_checkpoint<LitClassifier>(best);
    const double accuracy = test_accuracy(*reloaded, cli.datamodule());
    std::printf("reloaded best model: %s test accuracy %.4f\n", cli.datamodule().dataset_name().c_str(), accuracy);

    // Under DDP every rank holds the same model: rank 0 alone writes the export.
    if (!cli.trainer().is_global_zero()) return accuracy < min_accuracy ? 1 : 0;
    // Export for serving, next to the checkpoint, and check the file with our ONNX runtime.
    const std::string onnx_path = (std::filesystem::path(best).parent_path().parent_path() / "model.onnx").string();
    reloaded->eval();
    const Tensor sample = randn({1, 784});
    reloaded->to_onnx(onnx_path, sample);
    const Tensor from_onnx = onnx::InferenceSession(onnx_path).run({sample}).at(0);
    NoGradGuard no_grad;
    // The reloaded module is where its checkpoint was saved from (a GPU run reloads on the GPU).
    const Tensor direct = reloaded->forward(sample.to(reloaded->device())).to(kCPU);
    const double max_diff = (from_onnx - direct).abs().max().item<double>();
    std::printf("exported %s (max |onnx - module| = %.2g)\n", onnx_path.c_str(), max_diff);

    if (accuracy < min_accuracy || max_diff > 1e-4) {
      std::fprintf(stderr, "test accuracy %.4f is below %.2f, or the ONNX file disagrees (%.2g)\n", accuracy,
                   min_accuracy, max_diff);
      return 1;
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
