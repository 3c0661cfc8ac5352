// DataLoader throughput on Fashion-MNIST (Debian's dataset-fashion-mnist) with shuffle and
// the usual ToTensor + Normalize transform: batches per second for batch 64 and 256 with 0,
// 1 and 2 worker threads. The loader alone (no model), so that its cost per batch can be
// compared with a training step (784-128-10 at batch 64: a few hundred us; the target is
// >= 20,000 batches/s, under 5% of a step).
//
//   bazel run -c opt //bench:dataloader              readable lines
//   bazel run -c opt //bench:dataloader -- --json    {"bench":"dataloader","batch":B,"workers":W,"batches_per_s":...}
//
// Each configuration: one warm-up epoch, then the median over 5 epochs of batches / second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace T = fulgur::data::transforms;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fulgur;
  bool json = false;
  std::string root = "data";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") json = true;
    else if (arg.rfind("--data_dir=", 0) == 0) root = arg.substr(11);
    else {
      std::fprintf(stderr, "usage: dataloader [--json] [--data_dir=DIR]\n");
      return 2;
    }
  }
  set_num_threads(2);
  manual_seed(0);
  const T::Transform to_input = T::Compose({T::ToTensor(), T::Normalize({0.2860}, {0.3530})});
  auto dataset = std::make_shared<const data::FashionMNIST>(root, data::MNISTOptions{.train = true, .transform = to_input});
  for (int64_t batch : {64, 256}) {
    for (int workers : {0, 1, 2}) {
      data::DataLoader loader(dataset, {.batch_size = batch, .shuffle = true, .num_workers = workers,
                                        .persistent_workers = workers > 0});
      std::vector<double> rates;
      for (int epoch = 0; epoch < 6; ++epoch) {
        const auto t0 = Clock::now();
        int64_t n = 0;
        for (const Value& b : loader) n += b[1].as_tensor().numel() > 0 ? 1 : 0;
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (epoch > 0) rates.push_back(static_cast<double>(n) / s);
      }
      const double r = median(rates);
      if (json) {
        std::printf("{\"bench\":\"dataloader\",\"batch\":%lld,\"workers\":%d,\"batches_per_s\":%.0f}\n",
                    static_cast<long long>(batch), workers, r);
      } else {
        std::printf("dataloader Fashion-MNIST batch %lld, %d workers: %.0f batches/s (%.1f us/batch)\n",
                    static_cast<long long>(batch), workers, r, 1e6 / r);
      }
    }
  }
  return 0;
}
