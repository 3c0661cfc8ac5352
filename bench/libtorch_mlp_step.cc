#include "bench/libtorch_mlp_step.h"

#include <torch/torch.h>

#include <chrono>
#include <memory>

namespace fulgur::bench {

std::function<double()> libtorch_mlp_round(int64_t hidden, int64_t batch, int steps, int threads) {
  torch::set_num_threads(threads);
  torch::manual_seed(42);
  struct State {
    torch::nn::Sequential model;
    std::unique_ptr<torch::optim::Adam> opt;
    torch::Tensor x, y;
  };
  auto s = std::make_shared<State>();
  s->model = torch::nn::Sequential(torch::nn::Linear(784, hidden), torch::nn::ReLU(), torch::nn::Linear(hidden, 10));
  s->opt = std::make_unique<torch::optim::Adam>(s->model->parameters(), torch::optim::AdamOptions(1e-3));
  s->x = torch::randn({batch, 784});
  s->y = torch::randint(0, 10, {batch}, torch::kLong);
  auto step = [s] {
    s->opt->zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(s->model->forward(s->x), s->y);
    loss.backward();
    s->opt->step();
  };
  for (int i = 0; i < 3; ++i) step();
  return [step, steps] {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) step();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / steps;
  };
}

}  // namespace fulgur::bench
