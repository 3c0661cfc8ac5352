// The C++ computation tests/capi_fortran_test.f90 must reproduce through module fulgur and
// the C ABI: the same MLP, seed, optimizer and data (the Fortran program's own arrays),
// trained with the C++ API directly. Called from Fortran (bind(c)).
#include <cstdint>
#include <memory>

#include "fulgur/fulgur.h"

// x: the Fortran x(3, n) = row-major [n, 3]; y: y(1, n) = [n, 1]. losses[steps].
extern "C" void capi_fortran_reference(float* x, float* y, int64_t n, int64_t steps, double* losses) {
  namespace nn = fulgur::nn;
  fulgur::manual_seed(42);
  // One layer per statement: the order in which they draw their initial weights.
  auto first = std::make_shared<nn::Linear>(3, 4);
  auto second = std::make_shared<nn::Linear>(4, 1);
  nn::Sequential net(first, nn::Tanh(), second);
  fulgur::optim::SGD sgd(net.parameters(), {.lr = 0.05, .momentum = 0.9, .nesterov = true});
  const fulgur::Tensor xs = fulgur::from_blob(x, {n, 3}, fulgur::kFloat32);
  const fulgur::Tensor ys = fulgur::from_blob(y, {n, 1}, fulgur::kFloat32);
  for (int64_t s = 0; s < steps; ++s) {
    sgd.zero_grad();
    fulgur::Tensor loss = nn::functional::mse_loss(net(xs), ys);
    loss.backward();
    sgd.step();
    losses[s] = loss.item<double>();
  }
}
