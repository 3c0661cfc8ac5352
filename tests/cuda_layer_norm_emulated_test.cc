// The CUDA LayerNorm kernels (kernels/cuda/layer_norm.cuh) through the SIMT emulator against
// the CPU nn::functional::layer_norm and its autograd gradients (x, weight, bias), for warp-
// and block-per-row shapes, with and without the affine parameters.
#include <doctest/doctest.h>

#include <limits>
#include <random>
#include <vector>

#include "fulgur/kernels/cuda/layer_norm.h"
#include "fulgur/nn/functional/layer_norm.h"
#include "fulgur/tests/test_util.h"
#include "tests/cuda_reference.h"

using fulgur::cuda::Exec;
using fulgur::testing::compare;

TEST_CASE("cuda layer_norm (emulated): forward, dx, dgamma, dbeta equal the CPU autograd") {
  std::mt19937 rng(13);
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {3, 5}, {5, 32}, {33, 40}, {4, 1000}, {70, 64}, {3, 1500}, {2, 4100}, {2, 5001}};
  for (const auto& [rows, cols] : shapes) {
    for (bool affine : {true, false}) {
      CAPTURE(rows);
      CAPTURE(cols);
      CAPTURE(affine);
      const auto n = static_cast<size_t>(rows * cols);
      const auto x = fulgur::testing::random_floats(n, rng, -3.0f, 5.0f);
      const auto dy = fulgur::testing::random_floats(n, rng, -1.0f, 1.0f);
      const auto gamma = fulgur::testing::random_floats(static_cast<size_t>(cols), rng, 0.5f, 1.5f);
      const auto beta = fulgur::testing::random_floats(static_cast<size_t>(cols), rng, -0.5f, 0.5f);
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::vector<float> y(n, nan), mean(static_cast<size_t>(rows), nan), rstd(mean), dx(n, nan),
          dgamma(static_cast<size_t>(cols), nan), dbeta(dgamma),
          ws(static_cast<size_t>(fulgur::cuda::layer_norm_workspace_floats(rows, cols)), nan);
      fulgur::cuda::layer_norm_forward<Exec::Emulated>(x.data(), affine ? gamma.data() : nullptr,
                                                       affine ? beta.data() : nullptr, y.data(), mean.data(),
                                                       rstd.data(), rows, cols, 1e-5f, nullptr);
      fulgur::cuda::layer_norm_backward<Exec::Emulated>(x.data(), dy.data(), affine ? gamma.data() : nullptr,
                                                        mean.data(), rstd.data(), dx.data(),
                                                        affine ? dgamma.data() : nullptr,
                                                        affine ? dbeta.data() : nullptr, ws.data(), rows, cols,
                                                        nullptr);

      fulgur::Tensor tx = fulgur::from_vector(x, fulgur::Shape{rows, cols}).requires_grad_(true);
      fulgur::Tensor tg = fulgur::from_vector(gamma, fulgur::Shape{cols}).requires_grad_(true);
      fulgur::Tensor tb = fulgur::from_vector(beta, fulgur::Shape{cols}).requires_grad_(true);
      const fulgur::Tensor ty = affine ? fulgur::nn::functional::layer_norm(tx, {cols}, tg, tb, 1e-5)
                                       : fulgur::nn::functional::layer_norm(tx, {cols}, fulgur::Tensor(),
                                                                            fulgur::Tensor(), 1e-5);
      ty.backward(fulgur::from_vector(dy, fulgur::Shape{rows, cols}));
      CHECK(compare(y, fulgur::testing::values(ty), 1e-5, 1e-5) == "");
      // cols == 1: every x - mean is 0, so dx is 0 up to rounding on both sides.
      CHECK(compare(dx, fulgur::testing::values(tx.grad()), 1e-4, cols == 1 ? 1e-3 : 1e-5) == "");
      if (affine) {
        CHECK(compare(dgamma, fulgur::testing::values(tg.grad()), 1e-4, 1e-5) == "");
        CHECK(compare(dbeta, fulgur::testing::values(tb.grad()), 1e-5, 1e-5) == "");
      }
    }
  }
}
