// Convolution forward + backward for a small MNIST-like CNN (batch 64, 1x28x28 input,
// conv 1->32 3x3, ReLU, conv 32->64 3x3, ReLU, as PyTorch's examples/mnist). Two workloads:
//   convs: the two convolutions (+ ReLU) forward, sum, backward (input-side and weight grads);
//   net:   the whole examples/mnist Net forward (+ max_pool2d 2, Linear 9216->128, ReLU,
//          Linear 128->10, log_softmax, nll) and backward (no optimizer step, no dropout).
// bench/conv_step_torch.py times the same with PyTorch for comparison (see nn/README.md).
//
//   bazel run -c opt //bench:conv_step                 readable lines
//   bazel run -c opt //bench:conv_step -- --json --threads=1
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Fn>
double time_ms(Fn&& fn, int rounds, int per_round) {
  for (int i = 0; i < 2; ++i) fn();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < per_round; ++i) fn();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / per_round);
  }
  return median(t);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fulgur;
  bool json = false;
  int threads = 2;
  std::string only;  // forward | convs | net: time just that workload
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") json = true;
    else if (arg.rfind("--threads=", 0) == 0) threads = std::stoi(arg.substr(10));
    else if (arg.rfind("--only=", 0) == 0) only = arg.substr(7);
    else {
      std::fprintf(stderr, "usage: conv_step [--json] [--threads=N] [--only=forward|convs|net]\n");
      return 2;
    }
  }
  set_num_threads(threads);
  Generator gen(1);
  const Tensor x = randn({64, 1, 28, 28}, {}, &gen);
  const Tensor y = randint(0, 10, {64}, {}, &gen);
  nn::Conv2d conv1(1, 32, 3), conv2(32, 64, 3);
  nn::Linear fc1(9216, 128), fc2(128, 10);
  std::vector<Tensor> params = conv1.parameters();
  for (auto* m : std::vector<nn::Module*>{&conv2, &fc1, &fc2})
    for (const Tensor& p : m->parameters()) params.push_back(p);
  auto zero = [&] {
    for (Tensor& p : params) p.mutable_grad() = Tensor();
  };
  auto convs = [&] {
    zero();
    Tensor h = conv2(conv1(x).relu()).relu();
    h.sum().backward();
  };
  auto net = [&] {
    zero();
    Tensor h = conv2(conv1(x).relu()).relu();
    h = F::max_pool2d(h, 2).flatten(1);
    h = fc2(fc1(h).relu());
    F::nll_loss(h.log_softmax(1), y).backward();
  };
  auto forward_only = [&] {
    NoGradGuard g;
    Tensor h = conv2(conv1(x).relu()).relu();
    (void)h;
  };
  const double fwd = only.empty() || only == "forward" ? time_ms(forward_only, 7, 3) : 0.0;
  const double c = only.empty() || only == "convs" ? time_ms(convs, 7, 3) : 0.0;
  const double n = only.empty() || only == "net" ? time_ms(net, 7, 3) : 0.0;
  if (json) {
    std::printf("{\"bench\":\"conv_step\",\"threads\":%d,\"convs_forward_ms\":%.2f,\"convs_fwd_bwd_ms\":%.2f,"
                "\"net_fwd_bwd_ms\":%.2f}\n", threads, fwd, c, n);
  } else {
    std::printf("conv_step batch 64, 1->32->64 3x3 (%d threads, median of 7 rounds of 3):\n", threads);
    std::printf("  two convs + ReLU forward only:        %8.2f ms\n", fwd);
    std::printf("  two convs + ReLU forward + backward:  %8.2f ms\n", c);
    std::printf("  MNIST Net forward + backward:         %8.2f ms\n", n);
  }
  return 0;
}
