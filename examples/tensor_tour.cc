// A short tour of the tensor API: the main example until the trainer lands.
//   ./bazelw run //examples:tensor_tour
// It fits y = 3x - 2 by least squares with plain tensor ops (no autograd yet), and shows
// broadcasting, type promotion, views, reductions, indexing and printing on the way.
#include <cstdio>
#include <iostream>

#include <fulgur/fulgur.h>

using namespace fulgur;

int main() {
  manual_seed(0);
  std::cout << "fulgur tensor tour (" << get_num_threads() << " threads; CUDA: "
            << (cuda::is_available() ? "available" : cuda::unavailable_reason()) << ")\n\n";

  // Factories, printing and dtypes work like PyTorch's.
  Tensor a = arange(6).reshape({2, 3});
  std::cout << "a = " << a << "\n";
  std::cout << "a.t() is a view with strides " << shape_str(a.t().strides()) << "\n";
  std::cout << "a / 2 promotes int64 to " << (a / 2).dtype() << ": " << (a / 2) << "\n";
  std::cout << "broadcast a + [10, 20, 30]^T:\n" << a.unsqueeze(0) + tensor({10, 20, 30}).view({3, 1, 1}) << "\n";

  // Reductions and indexing.
  Tensor x = randn({4, 5});
  auto [best, where] = x.max(1);
  std::cout << "\nx = " << x << "\nrow max = " << best << " at " << where << "\n";
  std::cout << "softmax rows sum to " << x.softmax(1).sum({1}) << "\n";
  auto [top, idx] = x.flatten().topk(3);
  std::cout << "top-3 of x: " << top << " (flat indices " << idx << ")\n";

  // Least squares for y = 3x - 2 + noise: solve the 2x2 normal equations by hand.
  const int64_t n = 1000;
  Tensor xs = rand({n, 1}, {.dtype = kFloat64}).mul(4).sub(2);
  Tensor ys = xs.mul(3).sub(2).add(randn({n, 1}, {.dtype = kFloat64}).mul(0.1));
  Tensor design = cat({xs, ones({n, 1}, {.dtype = kFloat64})}, 1);  // [n, 2]
  Tensor gram = design.t().matmul(design);                          // [2, 2]
  Tensor rhs = design.t().matmul(ys);                               // [2, 1]
  const double g00 = gram[0][0].item<double>(), g01 = gram[0][1].item<double>();
  const double g11 = gram[1][1].item<double>(), det = g00 * g11 - g01 * g01;
  const double r0 = rhs[0][0].item<double>(), r1 = rhs[1][0].item<double>();
  const double slope = (g11 * r0 - g01 * r1) / det, intercept = (g00 * r1 - g01 * r0) / det;
  Tensor residual = design.matmul(tensor({{slope}, {intercept}})).sub(ys);
  std::printf("\nleast squares: y = %.3f x %+.3f (true: 3x - 2), rms residual %.4f\n", slope, intercept,
              residual.square().mean().sqrt().item<double>());

  // Errors say what went wrong and how to fix it.
  try {
    (void)a.matmul(ones({2, 2}, {.dtype = kInt64}));
  } catch (const Error& e) {
    std::cout << "\nfulgur::Error: " << e.what() << "\n";
  }
  return (slope > 2.9 && slope < 3.1 && intercept > -2.1 && intercept < -1.9) ? 0 : 1;
}
