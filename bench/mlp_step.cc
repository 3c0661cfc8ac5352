// One training step of an MLP: forward, cross-entropy, backward, Adam step, on random data
// (the reference workload; LibTorch 1.13 with OpenBLAS takes ~315 us and ~5.8 ms on
// this machine for the two configurations, measured with a hand-written loop over
// pre-made tensors).
//
//   bazel run -c opt //bench:mlp_step              readable lines
//   bazel run -c opt //bench:mlp_step -- --hidden=128   one configuration only (profiling)
//   bazel run -c opt //bench:mlp_step -- --phases       also the median time of each phase
//   bazel run -c opt //bench:mlp_step_vs_libtorch -- --json   the same, LibTorch 1.13 timed in the same run
//   bazel run -c opt //bench:mlp_step -- --json    {"bench":"mlp_step","hidden":H,"batch":B,"us_per_step":...}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

#ifdef FULGUR_BENCH_WITH_LIBTORCH
#include "bench/libtorch_mlp_step.h"
#endif

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

// Builds the model, Adam and random data, runs 3 warm-up steps (allocator caches,
// first-touch pages), and returns a function that runs c.steps steps and returns the
// microseconds per step.
// The workload: the 784-H-10 MLP, Adam and random data (seed 42).
struct Workload {
  std::shared_ptr<fulgur::nn::Sequential> model;
  std::unique_ptr<fulgur::optim::Adam> opt;
  fulgur::Tensor x, y;
};

std::shared_ptr<Workload> make_workload(const Config& c) {
  using namespace fulgur;
  auto s = std::make_shared<Workload>();
  Generator gen(42);
  s->model = std::make_shared<nn::Sequential>(nn::Linear(784, c.hidden), nn::ReLU(), nn::Linear(c.hidden, 10));
  s->opt = std::make_unique<optim::Adam>(s->model->parameters(), optim::AdamOptions{.lr = 1e-3});
  s->x = randn({c.batch, 784}, {}, &gen);
  s->y = randint(0, 10, {c.batch}, {}, &gen);
  return s;
}

std::function<double()> fulgur_round(const Config& c) {
  using namespace fulgur;
  const std::shared_ptr<Workload> s = make_workload(c);
  auto step = [s] {
    s->opt->zero_grad();
    Tensor loss = F::cross_entropy(s->model->forward(s->x), s->y);
    loss.backward();
    s->opt->step();
  };
  for (int i = 0; i < 3; ++i) step();
  return [step, steps = c.steps] {
    const auto t0 = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / steps;
  };
}

// Median microseconds of each phase of a step (forward, loss, backward, optimizer), each
// timed on its own: where the time goes, for docs/PERFORMANCE.md.
void print_phases(const Config& c, int rounds) {
  using namespace fulgur;
  const std::shared_ptr<Workload> w = make_workload(c);
  nn::Sequential& model = *w->model;
  optim::Adam& opt = *w->opt;
  const Tensor &x = w->x, &y = w->y;
  std::vector<double> t[5];
  for (int r = 0; r < rounds * c.steps + 3; ++r) {
    const auto t0 = Clock::now();
    opt.zero_grad();
    const auto t1 = Clock::now();
    Tensor logits = model.forward(x);
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
  std::string only;         // --only=fulgur|libtorch: time one implementation (diagnosis)
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") json = true;
    else if (arg.rfind("--threads=", 0) == 0) threads = std::stoi(arg.substr(10));
    else if (arg.rfind("--hidden=", 0) == 0) only_hidden = std::stoll(arg.substr(9));
    else if (arg == "--phases") phases = true;
    else if (arg.rfind("--only=", 0) == 0) only = arg.substr(7);
    else {
      std::fprintf(stderr, "usage: mlp_step [--json] [--threads=N] [--hidden=128|1024] [--phases] [--only=fulgur|libtorch]\n");
      return 2;
    }
  }
  fulgur::set_num_threads(threads);
  const std::vector<Config> configs = {{128, 64, 200}, {1024, 256, 10}};
  for (const Config& c : configs) {
    if (only_hidden != 0 && c.hidden != only_hidden) continue;
    if (phases) print_phases(c, 11);
    // Rounds of the implementations alternate, so that both see the same machine load.
    std::vector<std::function<double()>> rounds;
    std::vector<std::string> names;
    if (only.empty() || only == "fulgur") {
      rounds.push_back(fulgur_round(c));
      names.push_back("us_per_step");
    }
#ifdef FULGUR_BENCH_WITH_LIBTORCH
    if (only.empty() || only == "libtorch") {
      rounds.push_back(fulgur::bench::libtorch_mlp_round(c.hidden, c.batch, c.steps, threads));
      names.push_back("libtorch_us_per_step");
      fulgur::set_num_threads(threads);
    }
#endif
    std::vector<std::vector<double>> per_step(rounds.size());
    for (int r = 0; r < 11; ++r) {
      for (size_t i = 0; i < rounds.size(); ++i) per_step[i].push_back(rounds[i]());
    }
    std::string fields, text;
    for (size_t i = 0; i < rounds.size(); ++i) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ",\"%s\":%.1f", names[i].c_str(), median(per_step[i]));
      fields += buf;
      std::snprintf(buf, sizeof buf, "%s %.1f us/step", i == 0 ? "" : ",", median(per_step[i]));
      text += (names[i] == "us_per_step" ? std::string(" fulgur") : std::string(" LibTorch")) + buf;
    }
    if (json) {
      std::printf("{\"bench\":\"mlp_step\",\"hidden\":%lld,\"batch\":%lld,\"threads\":%d%s}\n",
                  static_cast<long long>(c.hidden), static_cast<long long>(c.batch), threads, fields.c_str());
    } else {
      std::printf("mlp_step 784-%lld-10 batch %lld:%s (%d threads, median of 11 rounds)\n",
                  static_cast<long long>(c.hidden), static_cast<long long>(c.batch), text.c_str(), threads);
    }
  }
  return 0;
}
