// The autograd engine's semantics, checked against values worked out by hand or printed by
// PyTorch: accumulation, retain_graph, grad(), create_graph, grad mode, detach, version
// counters, hooks, anomaly mode, in-place rules and very deep graphs.
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

Tensor leaf(std::vector<double> v, Shape shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
  return from_vector(v, shape).requires_grad_();
}

}  // namespace

TEST_CASE("backward accumulates into leaves") {
  Tensor x = leaf({1, 2, 3});
  Tensor w = leaf({0.5, -1, 2});
  Tensor y = x.mul(w).sum();  // dy/dx = w, dy/dw = x
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  CHECK(x.is_leaf());
  y.backward();
  CHECK(values(x.grad()) == std::vector<double>({0.5, -1, 2}));
  CHECK(values(w.grad()) == std::vector<double>({1, 2, 3}));
  // A second graph accumulates.
  x.mul(x).sum().backward();  // + 2x
  CHECK(values(x.grad()) == std::vector<double>({2.5, 3, 8}));
  // Gradients of a non-scalar need an explicit gradient.
  Tensor z = x.mul(2);
  CHECK(error_message([&] { z.backward(); }).find("scalar outputs") != std::string::npos);
  x.mutable_grad() = Tensor();
  z.backward(tensor({1.0, 0.0, -1.0}));
  CHECK(values(x.grad()) == std::vector<double>({2, 0, -2}));
}

TEST_CASE("graphs are freed after backward unless retained") {
  Tensor x = leaf({2.0});
  Tensor y = x.exp();  // saves its output
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  CHECK(get(x.grad(), {0}) == doctest::Approx(2 * std::exp(2.0)));
  const std::string msg = error_message([&] { y.backward(); });
  CHECK(msg.find("backward through the graph a second time") != std::string::npos);
  // A graph that saved nothing may run again, as in PyTorch.
  Tensor a = leaf({1.0});
  Tensor b = a.add(1);
  b.backward();
  b.backward();
  CHECK(get(a.grad(), {0}) == 2);
}

TEST_CASE("autograd::grad returns gradients without touching .grad()") {
  Tensor x = leaf({1, 2});
  Tensor y = x.pow(3).sum();
  auto g = autograd::grad({y}, {x});
  CHECK(values(g[0]) == std::vector<double>({3, 12}));
  CHECK_FALSE(x.grad().defined());
  // create_graph: the gradient is differentiable (d2/dx2 x^3 = 6x).
  Tensor y2 = x.pow(3).sum();
  auto g1 = autograd::grad({y2}, {x}, {.create_graph = true});
  CHECK(g1[0].requires_grad());
  auto g2 = autograd::grad({g1[0].sum()}, {x});
  CHECK(values(g2[0]) == std::vector<double>({6, 12}));
  // Unused inputs.
  Tensor unused = leaf({1.0});
  Tensor y3 = x.sum();
  CHECK(error_message([&] { (void)autograd::grad({y3}, {unused}, {.retain_graph = true}); }).find("not have been used") !=
        std::string::npos);
  auto none = autograd::grad({y3}, {unused}, {.allow_unused = true});
  CHECK_FALSE(none[0].defined());
}

TEST_CASE("grad mode, detach and requires_grad rules") {
  Tensor x = leaf({1, 2});
  {
    NoGradGuard guard;
    CHECK_FALSE(x.mul(2).requires_grad());
  }
  {
    SetGradEnabled off(false);
    CHECK_FALSE(x.exp().requires_grad());
  }
  {
    InferenceMode inference;
    CHECK_FALSE(is_grad_enabled());
  }
  CHECK(is_grad_enabled());
  CHECK(x.mul(2).requires_grad());
  Tensor d = x.mul(2).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(error_message([] { (void)zeros({2}, {.dtype = kInt64}).requires_grad_(); })
            .find("only tensors of floating point dtype") != std::string::npos);
  Tensor nonleaf = x.mul(2);
  CHECK(error_message([&] { nonleaf.requires_grad_(false); }).find("leaf variables") != std::string::npos);
  // Integer results carry no gradient.
  CHECK_FALSE(x.argmax().requires_grad());
  CHECK_FALSE(x.gt(1).requires_grad());
  CHECK(error_message([&] { zeros({1}).backward(); }).find("does not require grad") != std::string::npos);
}

TEST_CASE("modifying a saved tensor in place makes backward fail, naming the op") {
  Tensor x = leaf({1, 2, 3});
  Tensor h = x.mul(2);
  Tensor y = h.exp();  // saves its output y
  y.mul_(3);           // ...which is then modified
  const std::string msg = error_message([&] { y.sum().backward(); });
  CHECK(msg.find("modified by an inplace operation") != std::string::npos);
  CHECK(msg.find("Exp") != std::string::npos);
  CHECK(msg.find("is at version 1; expected version 0") != std::string::npos);
}

TEST_CASE("in-place ops on recorded tensors") {
  Tensor x = leaf({1, 2, 3});
  CHECK(error_message([&] { x.add_(1); }).find("leaf Variable that requires grad") != std::string::npos);
  {
    NoGradGuard guard;  // e.g. an optimizer step
    x.add_(1);
  }
  CHECK(values(x) == std::vector<double>({2, 3, 4}));
  // A non-leaf takes the in-place op's history: d/dx sum((2x)^2) = 8x.
  Tensor h = x.mul(2);
  h.mul_(h);
  h.sum().backward();
  CHECK(values(x.grad()) == std::vector<double>({16, 24, 32}));
  // A plain tensor becomes part of the graph when an in-place op mixes in a recorded one.
  Tensor acc = zeros({3});
  acc.add_(x.mul(3));
  CHECK(acc.requires_grad());
  x.mutable_grad() = Tensor();
  acc.sum().backward();
  CHECK(values(x.grad()) == std::vector<double>({3, 3, 3}));
  // In-place on a view of a recorded tensor rewrites the base's history:
  // d/dx sum(base) with base = x, base[0:2] *= 2  ->  [2, 2, 1].
  Tensor base = x.mul(1);
  Tensor v = base.narrow(0, 0, 2);
  v.mul_(2);
  CHECK(values(base) == std::vector<double>({4, 6, 4}));
  x.mutable_grad() = Tensor();
  base.sum().backward();
  CHECK(values(x.grad()) == std::vector<double>({2, 2, 1}));
}

TEST_CASE("hooks, retain_grad and post-accumulate hooks") {
  Tensor x = leaf({1, 2});
  Tensor h = x.mul(3);
  std::vector<double> seen;
  h.register_hook([&](const Tensor& g) {
    seen = values(g);
    return g.mul(10);  // replaces the gradient flowing on
  });
  h.retain_grad();
  std::vector<std::string> order;
  x.register_post_accumulate_grad_hook([&](const Tensor& t) {
    order.push_back("post");
    CHECK(t.grad().defined());
  });
  const size_t removed = x.register_hook([&](const Tensor&) {
    order.push_back("removed");
    return Tensor();
  });
  x.remove_hook(removed);
  x.register_hook([&](const Tensor& g) {
    order.push_back("leaf");
    return Tensor();  // keep g
  });
  h.sum().backward();
  CHECK(seen == std::vector<double>({1, 1}));
  CHECK(values(h.grad()) == std::vector<double>({10, 10}));  // retain_grad sees the hooked value
  CHECK(values(x.grad()) == std::vector<double>({30, 30}));
  CHECK(order == std::vector<std::string>({"leaf", "post"}));
  CHECK(error_message([] { (void)zeros({1}).register_hook([](const Tensor& g) { return g; }); })
            .find("doesn't require gradient") != std::string::npos);
}

TEST_CASE("a hook on an intermediate runs after the tensor itself was freed") {
  Tensor x = leaf({1, 2});
  int calls = 0;
  Tensor loss;
  {
    Tensor h = x.mul(3);  // freed at the end of this scope; mul saves only x and 3
    h.register_hook([&](const Tensor& g) {
      ++calls;
      return g.mul(2);
    });
    const size_t removed = h.register_hook([&](const Tensor& g) {
      calls += 100;
      return g;
    });
    h.remove_hook(removed);
    loss = h.sin().sum();
  }
  loss.backward();
  CHECK(calls == 1);
  // d/dx sin(3x) * 2 = 6 cos(3x)
  CHECK(get(x.grad(), {0}) == doctest::Approx(6 * std::cos(3.0)));
  CHECK(get(x.grad(), {1}) == doctest::Approx(6 * std::cos(6.0)));
}

TEST_CASE("anomaly mode names the forward op of a NaN gradient") {
  Tensor x = leaf({0.0, 1.0});
  Tensor y = x.sqrt().sum();  // d/dx sqrt(x) at 0 is inf
  autograd::set_detect_anomaly(true);
  const std::string msg = error_message([&] { y.backward(Tensor(), true); });
  autograd::set_detect_anomaly(false);
  CHECK(msg.find("SqrtBackward") != std::string::npos);
  CHECK(msg.find("'Sqrt'") != std::string::npos);
  y.backward();  // without anomaly mode: inf, as in PyTorch
  CHECK(std::isinf(get(x.grad(), {0})));
}

TEST_CASE("a 100,000-op chain runs backward and is freed without deep recursion") {
  Tensor x = leaf({1.0});
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y.mul(1.0).add(0.0);
  y.backward();
  CHECK(get(x.grad(), {0}) == 1.0);
  y = Tensor();  // drops 200,000 nodes
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z.add(1.0);
  z = Tensor();  // dropped without backward
  CHECK(x.grad().defined());
}

TEST_CASE("broadcasting and dtype conversions route gradients back") {
  Tensor a = leaf({1, 2, 3}, {3, 1});
  Tensor b = leaf({10, 20}, {1, 2});
  Tensor c = a.mul(b);  // [3, 2]
  c.sum().backward();
  CHECK(values(a.grad()) == std::vector<double>({30, 30, 30}));
  CHECK(values(b.grad()) == std::vector<double>({6, 6}));
  Tensor f = zeros({2}, {.dtype = kFloat32}).requires_grad_();
  Tensor g = f.to(kFloat64).mul(2).sum();
  g.backward();
  CHECK(f.grad().dtype() == kFloat32);
  CHECK(values(f.grad()) == std::vector<double>({2, 2}));
  // A Python-like number on either side.
  Tensor s = leaf({3.0});
  (2.0 - s).mul(s).sum().backward();  // d/ds (2 - s) s = 2 - 2s = -4
  CHECK(get(s.grad(), {0}) == -4);
}
