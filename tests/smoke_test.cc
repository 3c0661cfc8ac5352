#include "fulgur/tests/test_util.h"

using namespace fulgur;

TEST_CASE("smoke") {
  Tensor a = arange(6).reshape({2, 3}).to(kFloat32);
  Tensor b = ones({3});
  Tensor c = a + b;
  CHECK(c.str() == "tensor([[1., 2., 3.],\n        [4., 5., 6.]])");
  CHECK(a.sum().item<double>() == 15.0);
  CHECK(a.matmul(a.t()).str() == "tensor([[ 5., 14.],\n        [14., 50.]])");
  MESSAGE(randn({3, 3}).str());
  MESSAGE(a.softmax(1).str());
}
