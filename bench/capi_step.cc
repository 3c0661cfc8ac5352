// What the C ABI costs an embedding code per training step: the same MLP, Adam and batches
// (the caller's float arrays, wrapped once without copies) stepped three ways in one run:
//   cpp:      the C++ API's loop (zero_grad, forward, mse_loss, backward, step) on from_blob views
//   c_loop:   the same loop through the C ABI (fulgur_optimizer_zero_grad, fulgur_model_forward,
//             fulgur_loss, fulgur_tensor_backward, fulgur_optimizer_step)
//   c_trainer: fulgur_trainer_step, the host-driven Trainer (logging, callbacks, hooks)
// Rounds of the three alternate; each reports its median, and each overhead is the median of
// the paired per-round differences to the C++ loop. Speed is measured here, never asserted.
//
//   bazel run -c opt //bench:capi_step -- --json
//   {"bench":"capi_step","model":"5-32-32-1","batch":128,"cpp_us_per_step":...,
//    "c_loop_us_per_step":...,"c_trainer_us_per_step":...,"c_loop_overhead_us":...,
//    "c_trainer_overhead_us":...}
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"
#include "fulgur/fulgur_c.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  int64_t in, hidden, batch, steps;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void ok(fulgur_status s) {
  if (s != FULGUR_OK) {
    std::fprintf(stderr, "capi_step: %s\n", fulgur_last_error());
    std::exit(1);
  }
}

// The caller's data: `steps` batches of x [batch, in] and y [batch, 1], y a smooth function of x.
struct HostData {
  std::vector<float> x, y;
  explicit HostData(const Config& c)
      : x(static_cast<size_t>(c.steps * c.batch * c.in)), y(static_cast<size_t>(c.steps * c.batch)) {
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
    for (size_t r = 0; r < y.size(); ++r) y[r] = std::tanh(x[r * static_cast<size_t>(c.in)]);
  }
  float* x_at(const Config& c, int64_t step) { return x.data() + step * c.batch * c.in; }
  float* y_at(const Config& c, int64_t step) { return y.data() + step * c.batch; }
};

struct CModel {
  fulgur_model* model = nullptr;
  fulgur_optimizer* opt = nullptr;
  explicit CModel(const Config& c) {
    ok(fulgur_model_create(0, &model));
    ok(fulgur_model_add_linear(model, c.in, c.hidden, 1));
    ok(fulgur_model_add_tanh(model));
    ok(fulgur_model_add_linear(model, c.hidden, c.hidden, 1));
    ok(fulgur_model_add_tanh(model));
    ok(fulgur_model_add_linear(model, c.hidden, 1, 1));
    ok(fulgur_optimizer_adam(model, 1e-3, 0.9, 0.999, 1e-8, 0.0, &opt));
  }
  ~CModel() {
    fulgur_optimizer_destroy(opt);
    fulgur_model_destroy(model);
  }
};

// The batches as C tensors, wrapped once (a host wraps its arrays once and reuses them).
struct CBatches {
  std::vector<fulgur_tensor*> x, y;
  CBatches(const Config& c, HostData& d) {
    for (int64_t s = 0; s < c.steps; ++s) {
      const int64_t xs[2] = {c.batch, c.in}, ys[2] = {c.batch, 1};
      fulgur_tensor* xt = nullptr;
      fulgur_tensor* yt = nullptr;
      ok(fulgur_tensor_from_data(d.x_at(c, s), FULGUR_FLOAT32, 2, xs, nullptr, {FULGUR_DEVICE_CPU, 0}, &xt));
      ok(fulgur_tensor_from_data(d.y_at(c, s), FULGUR_FLOAT32, 2, ys, nullptr, {FULGUR_DEVICE_CPU, 0}, &yt));
      x.push_back(xt);
      y.push_back(yt);
    }
  }
  ~CBatches() {
    for (auto* t : x) fulgur_tensor_destroy(t);
    for (auto* t : y) fulgur_tensor_destroy(t);
  }
};

double us_per_step(Clock::time_point t0, const Config& c) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / static_cast<double>(c.steps);
}

double cpp_round(const Config& c, HostData& d) {
  using namespace fulgur;
  manual_seed(0);
  auto l1 = std::make_shared<nn::Linear>(c.in, c.hidden);
  auto l2 = std::make_shared<nn::Linear>(c.hidden, c.hidden);
  auto l3 = std::make_shared<nn::Linear>(c.hidden, 1);
  nn::Sequential net(l1, nn::Tanh(), l2, nn::Tanh(), l3);
  optim::Adam opt(net.parameters(), {.lr = 1e-3});
  const auto t0 = Clock::now();
  for (int64_t s = 0; s < c.steps; ++s) {
    const Tensor x = from_blob(d.x_at(c, s), {c.batch, c.in}, kFloat32);
    const Tensor y = from_blob(d.y_at(c, s), {c.batch, 1}, kFloat32);
    opt.zero_grad();
    Tensor loss = nn::functional::mse_loss(net.forward(x), y);
    loss.backward();
    opt.step();
  }
  return us_per_step(t0, c);
}

double c_loop_round(const Config& c, CBatches& b) {
  CModel m(c);
  const auto t0 = Clock::now();
  for (int64_t s = 0; s < c.steps; ++s) {
    fulgur_tensor* out = nullptr;
    fulgur_tensor* loss = nullptr;
    ok(fulgur_optimizer_zero_grad(m.opt));
    ok(fulgur_model_forward(m.model, b.x[static_cast<size_t>(s)], &out));
    ok(fulgur_loss(FULGUR_LOSS_MSE, out, b.y[static_cast<size_t>(s)], &loss));
    ok(fulgur_tensor_backward(loss));
    ok(fulgur_optimizer_step(m.opt));
    fulgur_tensor_destroy(loss);
    fulgur_tensor_destroy(out);
  }
  return us_per_step(t0, c);
}

double c_trainer_round(const Config& c, CBatches& b) {
  CModel m(c);
  fulgur_trainer_options o;
  fulgur_trainer_options_default(&o);
  fulgur_trainer* trainer = nullptr;
  ok(fulgur_trainer_create(&o, &trainer));
  ok(fulgur_trainer_begin(trainer, m.model, m.opt, FULGUR_LOSS_MSE, nullptr));
  const auto t0 = Clock::now();
  for (int64_t s = 0; s < c.steps; ++s) {
    ok(fulgur_trainer_step(trainer, b.x[static_cast<size_t>(s)], b.y[static_cast<size_t>(s)], nullptr));
  }
  const double us = us_per_step(t0, c);
  ok(fulgur_trainer_end(trainer));
  fulgur_trainer_destroy(trainer);
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  int threads = 2;
  int rounds = 15;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") json = true;
    else if (arg.rfind("--threads=", 0) == 0) threads = std::stoi(arg.substr(10));
    else if (arg.rfind("--rounds=", 0) == 0) rounds = std::stoi(arg.substr(9));
    else {
      std::fprintf(stderr, "usage: capi_step [--json] [--threads=N] [--rounds=N]\n");
      return 2;
    }
  }
  fulgur::set_num_threads(threads);
  // The examples' surrogate (5 stencil values in), and a wider MLP where the arithmetic dominates.
  const std::vector<Config> configs = {{5, 32, 128, 400}, {64, 256, 256, 100}};
  for (const Config& c : configs) {
    HostData data(c);
    CBatches batches(c, data);
    cpp_round(c, data);  // warm-up
    c_loop_round(c, batches);
    c_trainer_round(c, batches);
    std::vector<double> cpp, loop, trainer, loop_diff, trainer_diff;
    for (int r = 0; r < rounds; ++r) {
      cpp.push_back(cpp_round(c, data));
      loop.push_back(c_loop_round(c, batches));
      trainer.push_back(c_trainer_round(c, batches));
      loop_diff.push_back(loop.back() - cpp.back());
      trainer_diff.push_back(trainer.back() - cpp.back());
    }
    const std::string name = std::to_string(c.in) + "-" + std::to_string(c.hidden) + "-" + std::to_string(c.hidden) + "-1";
    if (json) {
      std::printf("{\"bench\":\"capi_step\",\"model\":\"%s\",\"batch\":%lld,\"threads\":%d,\"cpp_us_per_step\":%.2f,"
                  "\"c_loop_us_per_step\":%.2f,\"c_trainer_us_per_step\":%.2f,\"c_loop_overhead_us\":%.2f,"
                  "\"c_trainer_overhead_us\":%.2f}\n",
                  name.c_str(), static_cast<long long>(c.batch), threads, median(cpp), median(loop), median(trainer),
                  median(loop_diff), median(trainer_diff));
    } else {
      std::printf("capi_step %s batch %lld: C++ loop %.2f us/step, C ABI loop %.2f (+%.2f), C ABI trainer step %.2f "
                  "(+%.2f) (%d threads, median of %d rounds)\n",
                  name.c_str(), static_cast<long long>(c.batch), median(cpp), median(loop), median(loop_diff),
                  median(trainer), median(trainer_diff), threads, rounds);
    }
  }
  return 0;
}
