// A short MNIST training through the Trainer on the GPU, against the same run on the CPU: the
// MLP of examples/mnist (784-128-10) and a small CNN (examples/mnist_cnn's), Adam, the first
// 12,000 training images, the whole test set; the GPU's test accuracy must be the CPU's within
// a point, and each run prints its seconds per epoch (the figures for docs/PERFORMANCE.md).
// Data: Fashion-MNIST, from $FULGUR_MNIST_ROOT/FashionMNIST/raw (tools/gpu_package.sh ships that
// subset; run.sh sets the variable), else Debian's dataset-fashion-mnist. Skips visibly
// without a device or without the data.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fulgur/fulgur.h"
#include "fulgur/kernels/cuda/backend.h"
#include "tests/gpu/skip_without_gpu.h"
#include "fulgur/tests/test_util.h"

using namespace fulgur;
namespace F = fulgur::nn::functional;
namespace L = fulgur::lightning;
namespace T = fulgur::data::transforms;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

constexpr int64_t kTrainImages = 12000;

class Classifier : public L::LightningModule {
 public:
  explicit Classifier(bool cnn) {
    manual_seed(3);
    if (cnn) {
      net_ = register_module("net", std::make_shared<nn::Sequential>(
                                        nn::Conv2d(1, 16, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                                        nn::Conv2d(16, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                                        nn::Flatten(), nn::Linear(32 * 7 * 7, 10)));
    } else {
      net_ = register_module("net", std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear(784, 128), nn::ReLU(),
                                                                     nn::Linear(128, 10)));
    }
  }
  Tensor forward(const Tensor& x) override { return net_->forward(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::cross_entropy(forward(x), y);
  }
  void test_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    const Tensor correct = forward(x).argmax(1).eq(y).to(kFloat32).sum();
    log("test_correct", correct, {.on_epoch = true, .reduce_fx = "sum"});
  }
  L::OptimizerConfig configure_optimizers() override { return optim::Adam(parameters(), {.lr = 1e-3}); }

 private:
  std::shared_ptr<nn::Sequential> net_;
};

struct Data {
  std::shared_ptr<data::Dataset> train, test;
};

// The shipped subset, or the first kTrainImages of Debian's copy; nullopt without either.
std::optional<Data> fashion_mnist() {
  const char* root = std::getenv("FULGUR_MNIST_ROOT");
  const std::string dir = root != nullptr ? root : "";
  const bool shipped = !dir.empty() && std::filesystem::exists(dir + "/FashionMNIST/raw");
  if (!shipped && !std::filesystem::exists("/usr/share/datasets/fashion-mnist")) return std::nullopt;
  const T::Transform tf = T::Compose({T::ToTensor(), T::Normalize({0.2860}, {0.3530})});
  auto train = std::make_shared<data::FashionMNIST>(shipped ? dir : "", data::MNISTOptions{.train = true, .transform = tf});
  auto test = std::make_shared<data::FashionMNIST>(shipped ? dir : "", data::MNISTOptions{.train = false, .transform = tf});
  std::vector<int64_t> first(static_cast<size_t>(std::min(kTrainImages, train->size())));
  for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
  return Data{std::make_shared<data::Subset>(train, first), test};
}

struct Result {
  double accuracy = 0, seconds_per_epoch = 0;
};

Result train_and_test(const Data& d, bool cnn, const std::string& accelerator, int64_t epochs) {
  L::seed_everything(7);
  Classifier model(cnn);
  L::Trainer trainer(fulgur::testing::quiet_options({.max_epochs = epochs, .accelerator = accelerator}));
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(model, data::DataLoader(d.train, {.batch_size = 64, .shuffle = true}));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto metrics = trainer.test(model, data::DataLoader(d.test, {.batch_size = 256}), {.verbose = false});
  return {metrics.at(0).at("test_correct") / static_cast<double>(d.test->size()), seconds / static_cast<double>(epochs)};
}

void compare(bool cnn, int64_t epochs) {
  FULGUR_SKIP_WITHOUT_GPU();
  (void)ones({1}, {.device = Device::cuda(0)});
  REQUIRE_MESSAGE(cuda::backend_kind() == cuda::BackendKind::Gpu, "cuda:0 is not a real GPU; unset FULGUR_CUDA_EMULATION");
  const std::optional<Data> d = fashion_mnist();
  if (!d) {
    MESSAGE("MNIST on the GPU NOT verified: no Fashion-MNIST (set FULGUR_MNIST_ROOT or install dataset-fashion-mnist)");
    return;
  }
  const Result cpu = train_and_test(*d, cnn, "cpu", epochs);
  const Result gpu = train_and_test(*d, cnn, "gpu", epochs);
  const std::string name = cnn ? "CNN" : "MLP";
  MESSAGE(name << " on " << kTrainImages << " Fashion-MNIST images, " << epochs << " epochs: test accuracy cpu "
               << cpu.accuracy << ", gpu " << gpu.accuracy << "; seconds per epoch cpu " << cpu.seconds_per_epoch
               << ", gpu " << gpu.seconds_per_epoch << " (" << cuda::tensor_device_name(0) << ")");
  CHECK(gpu.accuracy > 0.75);
  CHECK(std::abs(gpu.accuracy - cpu.accuracy) <= 0.01);
}

}  // namespace

TEST_CASE("gpu: MNIST MLP through the Trainer reaches the CPU's test accuracy") { compare(/*cnn=*/false, 3); }

TEST_CASE("gpu: MNIST CNN through the Trainer reaches the CPU's test accuracy") { compare(/*cnn=*/true, 2); }
