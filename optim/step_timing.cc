// Times one optimizer step through the fused per-element loop against the tensor-op path
// (group option foreach = false), alternating the two run by run and reporting medians, so
// that the noise of a shared machine hits both alike. The figures are in optim/README.md.
//
//   bazel run //optim:step_timing                 float32, 2^20 + 64 x 4096 elements
//   bazel run //optim:step_timing -- --small      64 tensors of 256 elements (launch-bound)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/autograd/autograd.h"
#include "fulgur/kernels/parallel.h"
#include "fulgur/optim/adagrad.h"
#include "fulgur/optim/adam.h"
#include "fulgur/optim/rmsprop.h"
#include "fulgur/optim/sgd.h"
#include "fulgur/tensor/ops.h"

namespace {

using namespace fulgur;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Parameters with gradients already set, like a model after backward.
std::vector<Tensor> make_params(const std::vector<int64_t>& sizes) {
  std::vector<Tensor> ps;
  for (int64_t n : sizes) {
    Tensor p = randn({n}).requires_grad_();
    p.mutable_grad() = randn({n});
    ps.push_back(p);
  }
  return ps;
}

using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>, std::optional<bool> foreach)>;

}  // namespace

int main(int argc, char** argv) {
  const bool small = argc > 1 && std::strcmp(argv[1], "--small") == 0;
  std::vector<int64_t> sizes;
  if (small) {
    sizes.assign(64, 256);
  } else {
    sizes.assign(64, 4096);
    sizes.push_back(int64_t{1} << 20);
  }
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  const int reps = small ? 201 : 31;
  std::printf("float32, %zu tensors, %lld elements, %d threads, median of %d steps\n", sizes.size(),
              static_cast<long long>(total), get_num_threads(), reps);
  std::printf("%-34s %12s %12s %8s\n", "optimizer", "fused ms", "tensor ms", "speedup");

  const std::vector<std::pair<std::string, Factory>> cases = {
      {"SGD(momentum=0.9, weight_decay)",
       [](std::vector<Tensor> p, std::optional<bool> f) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = 1e-3, .momentum = 0.9, .weight_decay = 1e-4, .foreach = f});
       }},
      {"Adam", [](std::vector<Tensor> p, std::optional<bool> f) {
         return std::make_unique<optim::Adam>(p, optim::AdamOptions{.foreach = f});
       }},
      {"AdamW(amsgrad)", [](std::vector<Tensor> p, std::optional<bool> f) {
         return std::make_unique<optim::AdamW>(p, optim::AdamWOptions{.amsgrad = true, .foreach = f});
       }},
      {"RMSprop(momentum, centered)", [](std::vector<Tensor> p, std::optional<bool> f) {
         return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions{.momentum = 0.9, .centered = true, .foreach = f});
       }},
      {"Adagrad", [](std::vector<Tensor> p, std::optional<bool> f) {
         return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions{.foreach = f});
       }},
  };
  for (const auto& [name, make] : cases) {
    auto fused = make(make_params(sizes), std::nullopt);
    auto plain = make(make_params(sizes), false);
    fused->step();  // creates the state
    plain->step();
    std::vector<double> tf, tp;
    for (int i = 0; i < reps; ++i) {
      auto t0 = Clock::now();
      fused->step();
      tf.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      t0 = Clock::now();
      plain->step();
      tp.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    const double f = median(tf), p = median(tp);
    std::printf("%-34s %12.3f %12.3f %7.2fx\n", name.c_str(), f, p, p / f);
  }
  return 0;
}
