// The code shown in README.md, kept compiling and checked here.
#include <sstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;

TEST_CASE("README example") {
  manual_seed(0);
  // --- as in README.md ---
  Tensor x = randn({64, 784});
  Tensor w = randn({128, 784}).mul(0.01);
  Tensor h = linear(x, w).relu();                 // [64, 128]
  auto [best, idx] = h.softmax(1).max(1);         // values and indices
  std::ostringstream out;
  out << h.mean({0}).slice(0, 0, 4) << "\n";      // prints like PyTorch
  // --- end ---
  CHECK(h.sizes() == IntArrayRef({64, 128}));
  CHECK(h.min().item<double>() >= 0.0);
  CHECK(best.sizes() == IntArrayRef({64}));
  CHECK(idx.dtype() == kInt64);
  CHECK(out.str().rfind("tensor([", 0) == 0);
  // Printing matches the documented form.
  CHECK(arange(6).reshape({2, 3}).to(kFloat32).add(ones({3})).str() ==
        "tensor([[1., 2., 3.],\n        [4., 5., 6.]])");
}
