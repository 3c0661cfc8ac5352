// One training step of an MLP: forward, cross-entropy, backward, Adam step, on random data
// (the reference workload; LibTorch 1.13 with OpenBLAS takes ~315 us and ~5.8 ms on
// this machine for the two configurations, measured with a hand-written loop over
// pre-made tensors).
//
//   bazel run -c opt //bench:mlp_step              readable lines
//   bazel run -c opt //bench:mlp_step -- --hidden=128   one configuration only (profiling)
//   bazel run -c opt //bench:mlp_step -- --phases       also the median time of each phase
//   bazel run -c opt //bench:mlp_step -- --json    {"bench":"mlp_step","hidden":H,"batch":B,"us_per_step":...}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace F = fulgur::nn::functional;

struct Config {
  int64_t hidden;
  int64_t batch;
  int steps;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median microseconds per step over `rounds` rounds of `steps` steps each.
double time_steps(const Config& c, int rounds) {
  using namespace fulgur;
  Generator gen(42);
  auto model = std::make_shared<nn::Sequential>(nn::Linear(784, c.hidden), nn::ReLU(), nn::Linear(c.hidden, 10));
  optim::Adam opt(model->parameters(), {.lr = 1e-3});
  const Tensor x = randn({c.batch, 784}, {}, &gen);
  const Tensor y = randint(0, 10, {c.batch}, {}, &gen);
  auto step = [&] {
    opt.zero_grad();
    Tensor loss = F::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up: allocator caches, first-touch pages
  std::vector<double> per_step;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < c.steps; ++i) step();
    per_step.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / c.steps);
  }
  return median(per_step);
}

// Median microseconds of each phase of a step (forward, loss, backward, optimizer), each
// timed on its own: where the time goes, for docs/PERFORMANCE.md.
void print_phases(const Config& c, int rounds) {
  using namespace fulgur;
  Generator gen(42);
  auto model = std::make_shared<nn::Sequential>(nn::Linear(784, c.hidden), nn::ReLU(), nn::Linear(c.hidden, 10));
  optim::Adam opt(model->parameters(), {.lr = 1e-3});
  const Tensor x = randn({c.batch, 784}, {}, &gen);
  const Tensor y = randint(0, 10, {c.batch}, {}, &gen);
  std::vector<double> t[5];
  for (int r = 0; r < rounds * c.steps + 3; ++r) {
    const auto t0 = Clock::now();
    opt.zero_grad();
    const auto t1 = Clock::now();
    Tensor logits = model->forward(x);
    const auto t2 = Clock::now();
    Tensor loss = F::cross_entropy(logits, y);
    const auto t3 = Clock::now();
    loss.backward();
    const auto t4 = Clock::now();
    opt.step();
    const auto t5 = Clock::now();
    if (r < 3) continue;
    const Clock::time_point marks[6] = {t0, t1, t2, t3, t4, t5};
    for (int p = 0; p < 5; ++p) t[p].push_back(std::chrono::duration<double, std::micro>(marks[p + 1] - marks[p]).count());
  }
  const char* names[5] = {"zero_grad", "forward", "cross_entropy", "backward", "adam_step"};
  for (int p = 0; p < 5; ++p) {
    std::printf("  784-%lld-10 batch %lld %-14s %8.1f us (median)\n", static_cast<long long>(c.hidden),
                static_cast<long long>(c.batch), names[p], median(t[p]));
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  int threads = 2;
  int64_t only_hidden = 0;  // --hidden=H: run only that configuration (for profiling)
  bool phases = false;      // --phases: also time each phase of the step
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") json = true;
    else if (arg.rfind("--threads=", 0) == 0) threads = std::stoi(arg.substr(10));
    else if (arg.rfind("--hidden=", 0) == 0) only_hidden = std::stoll(arg.substr(9));
    else if (arg == "--phases") phases = true;
    else {
      std::fprintf(stderr, "usage: mlp_step [--json] [--threads=N] [--hidden=128|1024] [--phases]\n");
      return 2;
    }
  }
  fulgur::set_num_threads(threads);
  const std::vector<Config> configs = {{128, 64, 200}, {1024, 256, 10}};
  for (const Config& c : configs) {
    if (only_hidden != 0 && c.hidden != only_hidden) continue;
    if (phases) print_phases(c, 11);
    const double us = time_steps(c, 11);
    if (json) {
      std::printf("{\"bench\":\"mlp_step\",\"hidden\":%lld,\"batch\":%lld,\"threads\":%d,\"us_per_step\":%.1f}\n",
                  static_cast<long long>(c.hidden), static_cast<long long>(c.batch), threads, us);
    } else {
      std::printf("mlp_step 784-%lld-10 batch %lld: %.1f us/step (%d threads, median of 11 rounds)\n",
                  static_cast<long long>(c.hidden), static_cast<long long>(c.batch), us, threads);
    }
  }
  return 0;
}
