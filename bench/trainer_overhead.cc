// What L::Trainer adds per step over a hand-written loop: the same module, optimizer and
// DataLoader through Trainer.fit (progress bar, model summary, checkpointing and loggers off;
// training_step logs its loss, as a real module does) and through `for batch: zero_grad,
// forward, loss, backward, step`, and that loop again in Lightning's closure order (forward,
// zero_grad, backward, step): the difference to the latter is the Trainer's bookkeeping alone.
// A fourth variant runs Trainer.fit with profiler=SimpleProfiler: what profiling costs per step;
// a fifth with barebones=true (Lightning's mode for this measurement: self.log does nothing).
// Rounds alternate and each reports its median, so that all see the same machine load; the
// overheads are medians of the paired differences. Target (issue 6): at most 10 us per step
// (Lightning adds about 130 us per step on its parity model).
//
//   bazel run -c opt //bench:trainer_overhead -- --json
//   {"bench":"trainer_overhead","model":"32-32-10","batch":16,"trainer_us_per_step":...,
//    "loop_us_per_step":...,"overhead_us":...}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "fulgur/fulgur.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace F = fulgur::nn::functional;
namespace L = fulgur::lightning;
using fulgur::Tensor;

struct Config {
  int64_t in, hidden, batch, steps;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::shared_ptr<fulgur::nn::Sequential> make_net(const Config& c) {
  using namespace fulgur;
  return std::make_shared<nn::Sequential>(nn::Linear(c.in, c.hidden), nn::ReLU(), nn::Linear(c.hidden, 10));
}

class BenchModule : public L::LightningModule {
 public:
  explicit BenchModule(const Config& c) { net_ = register_module("net", make_net(c)); }
  Tensor forward(const Tensor& x) override { return net_->forward(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss);
    return loss;
  }
  L::OptimizerConfig configure_optimizers() override {
    return fulgur::optim::Adam(parameters(), {.lr = 1e-3});
  }

 private:
  std::shared_ptr<fulgur::nn::Sequential> net_;
};

fulgur::data::DataLoader make_loader(const Config& c) {
  using namespace fulgur;
  Generator gen(7);
  Tensor x = randn({c.batch * c.steps, c.in}, {}, &gen);
  Tensor y = randint(0, 10, {c.batch * c.steps}, {}, &gen);
  return data::DataLoader(data::TensorDataset(x, y), {.batch_size = c.batch, .drop_last = true});
}

// One fit over c.steps batches; microseconds per step, setup and teardown included.
// `report_dir`: profile with Lightning's SimpleProfiler, its report appended to a file there.
double trainer_round(const Config& c, BenchModule& model, fulgur::data::DataLoader& loader,
                     const std::string& report_dir = "", bool barebones = false) {
  L::ProfilerOption profiler;
  if (!report_dir.empty()) profiler = L::profilers::SimpleProfiler({.dirpath = report_dir, .filename = "bench"});
  L::TrainerOptions options{.max_epochs = 1, .profiler = std::move(profiler), .barebones = barebones};
  if (!barebones) {
    options.logger = false;
    options.num_sanity_val_steps = 0;
    options.enable_checkpointing = false;
    options.enable_progress_bar = false;
    options.enable_model_summary = false;
  }
  L::Trainer trainer(std::move(options));
  const auto t0 = Clock::now();
  trainer.fit(model, loader);
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / static_cast<double>(c.steps);
}

// zero_grad_first: the usual hand loop (zero_grad, forward, backward, step); false: Lightning's
// closure order (forward, zero_grad, backward, step), which the Trainer must follow.
double loop_round(const Config& c, fulgur::nn::Sequential& net, fulgur::data::DataLoader& loader,
                  bool zero_grad_first) {
  using namespace fulgur;
  const auto t0 = Clock::now();
  optim::Adam opt(net.parameters(), {.lr = 1e-3});
  net.train();
  for (const Value& batch : loader) {
    if (zero_grad_first) opt.zero_grad();
    Tensor loss = F::cross_entropy(net.forward(batch[0].as_tensor()), batch[1].as_tensor());
    if (!zero_grad_first) opt.zero_grad();
    loss.backward();
    opt.step();
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / static_cast<double>(c.steps);
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  int threads = 2;
  int rounds = 21;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") json = true;
    else if (arg.rfind("--threads=", 0) == 0) threads = std::stoi(arg.substr(10));
    else if (arg.rfind("--rounds=", 0) == 0) rounds = std::stoi(arg.substr(9));
    else {
      std::fprintf(stderr, "usage: trainer_overhead [--json] [--threads=N] [--rounds=N]\n");
      return 2;
    }
  }
  fulgur::set_num_threads(threads);
  // A tiny model, where the per-step bookkeeping is visible next to the arithmetic, and the
  // 784-128-10 MLP of the examples.
  const std::vector<Config> configs = {{32, 32, 16, 2000}, {784, 128, 64, 300}};
  // The profiled rounds append their reports here (removed at the end).
  const std::string report_dir = (std::filesystem::temp_directory_path() /
                                  ("fulgur_trainer_overhead_" + std::to_string(::getpid()))).string();
  for (const Config& c : configs) {
    fulgur::manual_seed(0);
    BenchModule model(c);
    auto net = make_net(c);
    fulgur::data::DataLoader trainer_loader = make_loader(c);
    fulgur::data::DataLoader loop_loader = make_loader(c);
    trainer_round(c, model, trainer_loader);  // warm-up: allocator caches, first-touch pages
    loop_round(c, *net, loop_loader, true);
    // The overheads are medians of per-round differences: each triple ran back to back, which
    // cancels most of this machine's drift better than a difference of medians.
    std::vector<double> trainer_us, loop_us, ordered_us, diff_us, ordered_diff_us, profiled_us, profiled_diff_us;
    std::vector<double> barebones_us, barebones_diff_us;
    for (int r = 0; r < rounds; ++r) {
      trainer_us.push_back(trainer_round(c, model, trainer_loader));
      profiled_us.push_back(trainer_round(c, model, trainer_loader, report_dir));
      profiled_diff_us.push_back(profiled_us.back() - trainer_us.back());
      barebones_us.push_back(trainer_round(c, model, trainer_loader, "", /*barebones=*/true));
      loop_us.push_back(loop_round(c, *net, loop_loader, true));
      ordered_us.push_back(loop_round(c, *net, loop_loader, false));
      diff_us.push_back(trainer_us.back() - loop_us.back());
      ordered_diff_us.push_back(trainer_us.back() - ordered_us.back());
      barebones_diff_us.push_back(barebones_us.back() - ordered_us.back());
    }
    const double t = median(trainer_us), l = median(loop_us), o = median(ordered_us);
    const double d = median(diff_us), od = median(ordered_diff_us);
    const double p = median(profiled_us), pd = median(profiled_diff_us);
    const double b = median(barebones_us), bd = median(barebones_diff_us);
    const std::string name = std::to_string(c.in) + "-" + std::to_string(c.hidden) + "-10";
    if (json) {
      std::printf("{\"bench\":\"trainer_overhead\",\"model\":\"%s\",\"batch\":%lld,\"threads\":%d,"
                  "\"trainer_us_per_step\":%.2f,\"loop_us_per_step\":%.2f,\"overhead_us\":%.2f,"
                  "\"lightning_order_loop_us_per_step\":%.2f,\"overhead_vs_lightning_order_us\":%.2f,"
                  "\"simple_profiler_trainer_us_per_step\":%.2f,\"simple_profiler_overhead_us\":%.2f,"
                  "\"barebones_trainer_us_per_step\":%.2f,\"barebones_overhead_vs_lightning_order_us\":%.2f}\n",
                  name.c_str(), static_cast<long long>(c.batch), threads, t, l, d, o, od, p, pd, b, bd);
    } else {
      std::printf("trainer_overhead %s batch %lld: Trainer.fit %.2f us/step, hand loop %.2f us/step (overhead "
                  "%.2f), hand loop in Lightning's order %.2f us/step (overhead %.2f), Trainer.fit with "
                  "SimpleProfiler %.2f us/step (profiler overhead %.2f), barebones %.2f us/step (overhead %.2f over the "
                  "loop in Lightning's order) (%d threads, median of %d rounds)\n",
                  name.c_str(), static_cast<long long>(c.batch), t, l, d, o, od, p, pd, b, bd, threads, rounds);
    }
  }
  std::filesystem::remove_all(report_dir);
  return 0;
}
