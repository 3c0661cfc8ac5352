// The seed's "same loop in raw PyTorch", in C++: you own the loop, the device moves,
// zero_grad, backward and step (on cuda:0 when there is a GPU, else the CPU). A 784-128-10 MLP
// trained on Fashion-MNIST (Debian's dataset-fashion-mnist, or ./data/FashionMNIST/raw) for 2
// epochs with Adam, then test accuracy (about 0.85, as PyTorch reaches with the same setup).
//
//   ./bazelw run //examples:raw_loop                  # 2 epochs
//   ./bazelw run //examples:raw_loop -- --epochs=1 --min_accuracy=0.8
//
// Exits non-zero when the test accuracy is below --min_accuracy (default 0.8), so that the
// example also runs as a test.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fulgur/fulgur.h"

using namespace fulgur;
namespace F = fulgur::nn::functional;
namespace T = fulgur::data::transforms;

int main(int argc, char** argv) {
  int epochs = 2;
  double min_accuracy = 0.8;
  std::string root = "data";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--epochs=", 0) == 0) epochs = std::atoi(arg.c_str() + 9);
    else if (arg.rfind("--min_accuracy=", 0) == 0) min_accuracy = std::atof(arg.c_str() + 15);
    else if (arg.rfind("--data_dir=", 0) == 0) root = arg.substr(11);
    else {
      std::fprintf(stderr, "usage: raw_loop [--epochs=N] [--min_accuracy=A] [--data_dir=DIR]\n");
      return 2;
    }
  }
  manual_seed(42);
  const T::Transform to_input = T::Compose({T::ToTensor(), T::Normalize({0.2860}, {0.3530})});
  data::DataLoader train_dl(data::FashionMNIST(root, {.train = true, .transform = to_input}),
                            {.batch_size = 64, .shuffle = true});
  data::DataLoader test_dl(data::FashionMNIST(root, {.train = false, .transform = to_input}), {.batch_size = 1000});
  std::printf("Fashion-MNIST: %lld training and %lld test images\n",
              static_cast<long long>(train_dl.dataset()->size()), static_cast<long long>(test_dl.dataset()->size()));

  // device = "cuda" if torch.cuda.is_available() else "cpu"
  const Device device = cuda::is_available() ? Device::cuda(0) : kCPU;
  auto model = std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
  model->to(device);
  optim::Adam opt(model->parameters(), {.lr = 1e-3});

  const auto start = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < epochs; ++epoch) {
    model->train();
    double loss_sum = 0;
    int64_t batches = 0;
    for (const Value& batch : train_dl) {
      const Tensor x = batch[0].as_tensor().to(device);
      const Tensor y = batch[1].as_tensor().to(device);
      opt.zero_grad();
      Tensor loss = F::cross_entropy(model->forward(x), y);
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    std::printf("epoch %d: train loss %.4f\n", epoch, loss_sum / static_cast<double>(batches));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  model->eval();
  NoGradGuard no_grad;
  int64_t correct = 0, total = 0;
  for (const Value& batch : test_dl) {
    const Tensor y = batch[1].as_tensor().to(device);
    const Tensor predicted = model->forward(batch[0].as_tensor().to(device)).argmax(1);
    correct += predicted.eq(y).sum().item<int64_t>();
    total += y.numel();
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(total);
  std::printf("test accuracy %.4f (%lld/%lld) after %d epochs in %.1f s on %s\n", accuracy,
              static_cast<long long>(correct), static_cast<long long>(total), epochs, seconds, device.str().c_str());
  if (accuracy < min_accuracy) {
    std::fprintf(stderr, "test accuracy %.4f is below %.2f\n", accuracy, min_accuracy);
    return 1;
  }
  return 0;
}
