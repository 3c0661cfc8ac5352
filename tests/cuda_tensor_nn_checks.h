// The checks of CUDA tensors beyond element-wise ops and GEMM: gather / scatter / index_select /
// masked_select (nonzero), sort / topk, random fills, sliding windows (unfold, fold, conv,
// max pooling) and softmax, then a small CNN's loss and gradients. Shared, like
// cuda_tensor_checks.h (whose Pair / compare / expect_matches they use), by the emulated test
// and tests/gpu. The CPU backend is the reference.
//
// Exact: gather, scatter (assign: the last duplicate wins; add: sums in index order, on both
// sides one thread per line), index_select, masked_select, sort / topk (a total order: ties
// by position, NaN largest), uniform / randint / bernoulli fills (the same Philox block per
// element), im2col, col2im (each image element sums its window entries in the CPU's order)
// and max pooling with its indices. Within a tolerance: softmax (Eigen's vectorised exp on
// the CPU), normal fills on a GPU (libdevice's log/cos; exact under the emulator), and
// convolutions and the CNN (GEMMs that sum in another order).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "fulgur/nn/functional/conv.h"
#include "fulgur/nn/functional/loss.h"
#include "fulgur/nn/functional/pooling.h"
#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/fused_cross_entropy.h"
#include "fulgur/tests/cuda_tensor_checks.h"

namespace fulgur::cuda_checks {

// An int64 index tensor of `shape` with values in [0, n) (duplicates likely), on both devices.
inline Pair index_pair(IntArrayRef shape, int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  Tensor t = empty(shape, {.dtype = kInt64});
  for_each_index(shape, [&](const std::vector<int64_t>& i) { set(t, i, static_cast<double>(pick(rng))); });
  return {t, t.to(kDev)};
}

// gather / scatter / scatter_add / index_select / index_add_ / masked_select, every dim of
// 3-D inputs, float, fp16, int64 and bool, duplicates, transposed sources, out-of-range errors.
inline void check_indexing(std::mt19937& rng) {
  for (DType dt : {kFloat32, kFloat16, kInt64, kBool, kFloat64}) {
    for (int64_t dim = 0; dim < 3; ++dim) {
      const std::string d = "dim " + std::to_string(dim);
      Pair self = random_pair({4, 5, 6}, dt, rng, Layout::Transposed);
      Shape ishape = {3, 4, 5};
      ishape[static_cast<size_t>(dim)] = 7;  // longer than self's dim: duplicates for sure
      Pair index = index_pair(ishape, self.cpu.size(dim), rng);
      Pair src = random_pair(ishape, dt, rng);
      compare([dim](const std::vector<Tensor>& t) { return t[0].gather(dim, t[1]); }, {self, index}, 0.0,
              label("gather", dt, d));
      compare([dim](const std::vector<Tensor>& t) { return t[0].scatter(dim, t[1], t[2]); }, {self, index, src}, 0.0,
              label("scatter", dt, d));
      if (dt != kBool) {
        compare([dim](const std::vector<Tensor>& t) { return t[0].scatter_add(dim, t[1], t[2]); }, {self, index, src},
                0.0, label("scatter_add", dt, d));
      }
      Pair rows = index_pair({9}, self.cpu.size(dim), rng);
      compare([dim](const std::vector<Tensor>& t) { return t[0].index_select(dim, t[1]); }, {self, rows}, 0.0,
              label("index_select", dt, d));
    }
    Pair x = random_pair({6, 7}, dt, rng);
    Pair mask = random_pair({6, 7}, kBool, rng);
    compare([](const std::vector<Tensor>& t) { return t[0].masked_select(t[1]); }, {x, mask}, 0.0,
            label("masked_select", dt));
    Pair row_mask = random_pair({7}, kBool, rng);  // broadcast
    compare([](const std::vector<Tensor>& t) { return t[0].masked_select(t[1]); }, {x, row_mask}, 0.0,
            label("masked_select broadcast", dt));
  }
  // Empty index; all-false mask.
  Pair x = random_pair({3, 4}, kFloat32, rng);
  compare([](const std::vector<Tensor>& t) { return t[0].index_select(0, empty({0}, {.dtype = kInt64, .device = t[0].device()})); },
          {x}, 0.0, "index_select of nothing");
  compare([](const std::vector<Tensor>& t) { return t[0].masked_select(t[0] > 100.0); }, {x}, 0.0,
          "masked_select of nothing");
  // An index out of range is an Error on both sides, naming the index.
  Pair bad = pair_of({0, 3, 1}, kInt64, {3});
  compare([](const std::vector<Tensor>& t) { return t[0].index_select(0, t[1]); }, {x, bad}, 0.0, "index 3 of 3 rows");
  Pair negative = pair_of({0, -1}, kInt64, {1, 2});
  compare([](const std::vector<Tensor>& t) { return t[0].gather(1, t[1]); }, {x, negative}, 0.0, "index -1");
  try {
    (void)x.dev.gather(1, negative.dev);
  } catch (const Error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("index -1 is out of bounds") != std::string::npos, e.what());
  }
  // The device stays usable after the error.
  expect_matches(x.cpu.gather(1, pair_of({0, 2}, kInt64, {1, 2}).cpu),
                 x.dev.gather(1, pair_of({0, 2}, kInt64, {1, 2}).dev), 0.0, "gather after an error");
}

// sort / argsort / topk: ties (small integer values), NaN and inf, both directions, along the
// last and a middle dim, rows shorter and longer than a power of two, k < n and k == n.
inline void check_sort(std::mt19937& rng) {
  for (DType dt : {kFloat32, kFloat16, kBFloat16, kFloat64, kInt64, kInt32, kUInt8, kBool}) {
    for (const Shape& shape : {Shape{5, 13}, Shape{3, 64}, Shape{2, 300}, Shape{4, 1}, Shape{3, 0}, Shape{6, 3, 5}}) {
      // Few distinct values (many ties), plus NaN / inf in float rows.
      Tensor t = empty(shape, {.dtype = dt});
      std::uniform_int_distribution<int> small(0, 5);
      int64_t k = 0;
      for_each_index(shape, [&](const std::vector<int64_t>& i) {
        double v = small(rng);
        if (is_floating(dt) && k % 11 == 3) v = kNaN;
        if (is_floating(dt) && k % 13 == 5) v = -kInf;
        if (dt == kBool) v = v > 2;
        set(t, i, v);
        ++k;
      });
      const Pair p{t, t.to(kDev)};
      const std::string s = shape_str(shape);
      for (bool descending : {false, true}) {
        const std::string what = s + (descending ? " descending" : " ascending");
        compare([&](const std::vector<Tensor>& x) { return std::get<0>(x[0].sort(-1, descending, true)); }, {p}, 0.0,
                label("sort values", dt, what));
        compare([&](const std::vector<Tensor>& x) { return std::get<1>(x[0].sort(-1, descending, true)); }, {p}, 0.0,
                label("sort indices", dt, what));
        if (shape.size() == 3) {
          compare([&](const std::vector<Tensor>& x) { return x[0].argsort(1, descending, true); }, {p}, 0.0,
                  label("argsort dim 1", dt, what));
        }
      }
      const int64_t n = shape.size() == 3 ? shape[2] : shape[1];
      for (int64_t kk : {int64_t{1}, n / 2, n}) {
        if (kk > n) continue;
        compare([kk](const std::vector<Tensor>& x) { return std::get<0>(x[0].topk(kk)); }, {p}, 0.0,
                label("topk values", dt, s + " k " + std::to_string(kk)));
        compare([kk](const std::vector<Tensor>& x) { return std::get<1>(x[0].topk(kk, -1, false)); }, {p}, 0.0,
                label("topk smallest indices", dt, s + " k " + std::to_string(kk)));
      }
    }
  }
}

// rand / randn / randint / bernoulli / randperm with the same seed on both devices: the same
// values (normal within `normal_tol`: a GPU's log/cos are libdevice's), and dropout masks.
inline void check_random(double normal_tol) {
  auto both = [&](const std::function<Tensor(Device)>& make, double tol, const std::string& what) {
    manual_seed(1234);
    const Tensor c = make(kCPU);
    manual_seed(1234);
    const Tensor d = make(kDev);
    expect_matches(c, d, tol, what);
  };
  for (DType dt : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    both([dt](Device d) { return rand({1000}, {.dtype = dt, .device = d}); }, 0.0, label("rand", dt));
    both([dt](Device d) { return randn({1000}, {.dtype = dt, .device = d}); }, dt == kFloat64 ? normal_tol : 0.0,
         label("randn", dt));
    both([dt](Device d) { return bernoulli({777}, 0.3, {.dtype = dt, .device = d}); }, 0.0, label("bernoulli", dt));
  }
  both([](Device d) { return randint(-5, 17, {500}, {.dtype = kInt64, .device = d}); }, 0.0, "randint int64");
  both([](Device d) { return randint(0, 3, {64}, {.dtype = kUInt8, .device = d}); }, 0.0, "randint uint8");
  both([](Device d) { return randperm(50, {.device = d}); }, 0.0, "randperm");
  // Per-element probabilities (a tensor on each device).
  both([](Device d) { return bernoulli(linspace(0.0, 1.0, 301, {.device = d})); }, 0.0, "bernoulli(p tensor)");
  // The generator advances the same way: a second draw after the first matches too.
  both([](Device d) {
    (void)rand({33}, {.device = d});
    return rand({17}, {.device = d});
  }, 0.0, "second draw");
  // Statistics on the device alone (not a copy of a CPU stream).
  manual_seed(7);
  const Tensor u = rand({100000}, {.device = kDev}).to(kCPU);
  CHECK(u.mean().item<double>() == doctest::Approx(0.5).epsilon(0.01));
  CHECK(u.min().item<double>() >= 0.0);
  CHECK(u.max().item<double>() < 1.0);
}

// unfold / fold (im2col / col2im) in 1-3 spatial dims with padding, dilation and stride;
// max pooling with ceil mode, padding, dilation, NaN and its indices; every floating dtype.
inline void check_windows(std::mt19937& rng) {
  struct Case {
    Shape input;
    Shape kernel, dilation, padding, stride;
  };
  const Case cases[] = {
      {{2, 3, 9}, {3}, {1}, {1}, {2}},
      {{2, 2, 7, 8}, {3, 2}, {1, 2}, {1, 0}, {2, 1}},
      {{1, 3, 5, 5}, {2, 2}, {2, 2}, {1, 1}, {1, 1}},
      {{2, 2, 4, 5, 6}, {2, 3, 2}, {1, 1, 2}, {0, 1, 1}, {2, 1, 2}},
      {{3, 1, 6, 6}, {6, 6}, {1, 1}, {0, 0}, {1, 1}},  // one window
      {{0, 2, 5, 5}, {2, 2}, {1, 1}, {0, 0}, {1, 1}},  // empty batch
  };
  for (DType dt : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    for (const Case& c : cases) {
      const std::string s = shape_str(c.input) + " k" + shape_str(c.kernel);
      Pair x = random_pair(c.input, dt, rng, Layout::Strided);
      compare([&](const std::vector<Tensor>& t) { return unfold(t[0], c.kernel, c.dilation, c.padding, c.stride); },
              {x}, 0.0, label("unfold", dt, s));
      // fold of unfold's shape: the overlapping sums in the CPU's order.
      const Tensor cols = unfold(x.cpu, c.kernel, c.dilation, c.padding, c.stride);
      Pair colp = random_pair(cols.sizes(), dt, rng);
      const Shape image(c.input.begin() + 2, c.input.end());
      compare([&](const std::vector<Tensor>& t) { return fold(t[0], image, c.kernel, c.dilation, c.padding, c.stride); },
              {colp}, 0.0, label("fold", dt, s));
      if (c.input.size() == 4) {
        for (bool ceil_mode : {false, true}) {
          const Shape pad = {std::min<int64_t>(c.padding[0], c.kernel[0] / 2), std::min<int64_t>(c.padding[1], c.kernel[1] / 2)};
          auto pool = [&](const std::vector<Tensor>& t, int which) {
            auto [v, i] = nn::functional::max_pool2d_with_indices(t[0], c.kernel, c.stride, pad, c.dilation, ceil_mode);
            return which == 0 ? v : i;
          };
          compare([&](const std::vector<Tensor>& t) { return pool(t, 0); }, {x}, 0.0,
                  label("max_pool2d", dt, s + (ceil_mode ? " ceil" : "")));
          compare([&](const std::vector<Tensor>& t) { return pool(t, 1); }, {x}, 0.0,
                  label("max_pool2d indices", dt, s + (ceil_mode ? " ceil" : "")));
        }
      }
    }
  }
  // NaN wins a pooling window; ties keep the first.
  Pair p = pair_of({1, 3, 3, 0, kNaN, 2, 5, 5, 1}, kFloat32, {1, 1, 3, 3});
  compare([](const std::vector<Tensor>& t) { return std::get<1>(nn::functional::max_pool2d_with_indices(t[0], {2, 2}, {1, 1})); },
          {p}, 0.0, "max_pool2d NaN and ties");
  // conv2d forward through im2col + GEMM.
  Pair in = random_pair({2, 3, 8, 7}, kFloat32, rng), w = random_pair({4, 3, 3, 3}, kFloat32, rng),
       b = random_pair({4}, kFloat32, rng);
  compare([](const std::vector<Tensor>& t) { return nn::functional::conv2d(t[0], t[1], t[2], {2, 1}, {1, 1}); },
          {in, w, b}, 1e-5, "conv2d");
}

// softmax / log_softmax along every dim (inner > 1 takes the per-slice kernel), every floating
// dtype, NaN rows, -inf entries; the float32 last-dim case the row kernels.
inline void check_softmax(std::mt19937& rng) {
  for (DType dt : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    const double tol = dt == kFloat32 ? 2e-6 : dt == kFloat64 ? 1e-13 : tolerance(dt);
    for (const Shape& shape : {Shape{4, 5, 6}, Shape{3, 1500}, Shape{7}, Shape{2, 0, 3}}) {
      Pair x = random_pair(shape, dt, rng, Layout::Contiguous, -8.0, 8.0);
      for (int64_t dim = 0; dim < static_cast<int64_t>(shape.size()); ++dim) {
        const std::string s = shape_str(shape) + " dim " + std::to_string(dim);
        compare([dim](const std::vector<Tensor>& t) { return t[0].softmax(dim); }, {x}, tol, label("softmax", dt, s));
        compare([dim](const std::vector<Tensor>& t) { return t[0].log_softmax(dim); }, {x}, tol,
                label("log_softmax", dt, s));
      }
    }
    Pair special = pair_of({1, kNaN, 2, -kInf, 0, 3, -kInf, -kInf, -kInf}, dt, {3, 3});
    compare([](const std::vector<Tensor>& t) { return t[0].softmax(1); }, {special}, tol, label("softmax NaN/-inf", dt));
    compare([](const std::vector<Tensor>& t) { return t[0].log_softmax(0); }, {special}, tol,
            label("log_softmax NaN/-inf dim 0", dt));
  }
}

// A small CNN (conv, relu, max pool, linear, cross-entropy) on cuda: the CPU's loss and
// gradients, so that a model trains on the device as on the CPU.
inline void check_cnn_gradients(std::mt19937& rng) {
  Pair x = random_pair({4, 1, 8, 8}, kFloat32, rng);
  Pair w1 = random_pair({3, 1, 3, 3}, kFloat32, rng, Layout::Contiguous, -0.5, 0.5);
  Pair b1 = random_pair({3}, kFloat32, rng, Layout::Contiguous, -0.1, 0.1);
  Pair w2 = random_pair({5, 12}, kFloat32, rng, Layout::Contiguous, -0.3, 0.3);
  Pair y = pair_of({0, 4, 2, 4}, kInt64, {4});
  auto run = [](const Tensor& xs, Tensor w1s, Tensor b1s, Tensor w2s, const Tensor& ys) {
    w1s = w1s.detach().requires_grad_();
    b1s = b1s.detach().requires_grad_();
    w2s = w2s.detach().requires_grad_();
    Tensor h = nn::functional::conv2d(xs, w1s, b1s, {1, 1}, {1, 1}).relu();
    h = nn::functional::max_pool2d(h, {3, 3}, {3, 3}).flatten(1);
    Tensor loss = nn::functional::cross_entropy(h.matmul(w2s.t()), ys, {.label_smoothing = 0.1});
    loss.backward();
    return std::vector<Tensor>{loss.detach(), w1s.grad(), b1s.grad(), w2s.grad()};
  };
  const auto c = run(x.cpu, w1.cpu, b1.cpu, w2.cpu, y.cpu);
  const auto d = run(x.dev, w1.dev, b1.dev, w2.dev, y.dev);
  const char* names[] = {"loss", "d/dw1", "d/db1", "d/dw2"};
  for (size_t i = 0; i < c.size(); ++i) expect_matches(c[i], d[i], 1e-5, names[i]);
}

// nn::functional::cross_entropy with class indices on cuda (float32 2-D: the fused kernels of
// tensor/fused_cross_entropy.h) against the CPU's composed log_softmax + nll_loss: loss and
// d(logits) for every reduction, with and without class weights, ignore_index and label
// smoothing; the gradient of the gradient (create_graph); a bad target is an Error; every
// target ignored gives NaN for "mean", as PyTorch.
inline void check_cross_entropy(std::mt19937& rng) {
  REQUIRE(has_fused_cross_entropy(ones({2, 3}, {.device = kDev})));
  Pair x = random_pair({37, 11}, kFloat32, rng, Layout::Contiguous, -4.0, 4.0);
  std::vector<double> targets;
  for (int i = 0; i < 37; ++i) targets.push_back(i % 7 == 3 ? -100 : (i * 5) % 11);
  Pair t = pair_of(targets, kInt64, {37});
  Pair w = random_pair({11}, kFloat32, rng, Layout::Contiguous, 0.2, 2.0);
  for (const char* reduction : {"none", "sum", "mean"}) {
    for (bool weighted : {false, true}) {
      for (double ls : {0.0, 0.15}) {
        const std::string what = std::string(reduction) + (weighted ? " weighted" : "") + " ls " + std::to_string(ls);
        auto run = [&](const Tensor& xs, const Tensor& ts, const Tensor& ws) {
          Tensor leaf = xs.detach().requires_grad_();
          nn::CrossEntropyLossOptions o{.weight = weighted ? ws : Tensor(), .reduction = reduction, .label_smoothing = ls};
          Tensor loss = nn::functional::cross_entropy(leaf, ts, o);
          loss.sum().mul(1.7).backward();
          return std::make_pair(loss.detach(), leaf.grad());
        };
        const auto [lc, gc] = run(x.cpu, t.cpu, w.cpu);
        const auto [ld, gd] = run(x.dev, t.dev, w.dev);
        expect_matches(lc, ld, 2e-5, "cross_entropy loss " + what);
        expect_matches(gc, gd, 2e-5, "cross_entropy d/dlogits " + what);
      }
    }
  }
  // Transposed logits (a contiguous copy is made), and the gradient of the gradient.
  auto second = [&](const Tensor& xs, const Tensor& ts) {
    Tensor leaf = xs.detach().requires_grad_();
    Tensor loss = nn::functional::cross_entropy(leaf.t().t(), ts, {.label_smoothing = 0.1});
    const Tensor g = autograd::grad({loss}, {leaf}, {.create_graph = true})[0];
    g.square().sum().backward();
    return std::make_pair(g.detach(), leaf.grad());
  };
  const auto [g1c, g2c] = second(x.cpu, t.cpu);
  const auto [g1d, g2d] = second(x.dev, t.dev);
  expect_matches(g1c, g1d, 2e-5, "cross_entropy gradient under create_graph");
  expect_matches(g2c, g2d, 2e-5, "cross_entropy second derivative");
  // Every target ignored: "mean" is 0 / 0.
  Pair all_ignored = pair_of(std::vector<double>(37, -100), kInt64, {37});
  compare([](const std::vector<Tensor>& v) { return nn::functional::cross_entropy(v[0], v[1]); }, {x, all_ignored}, 0.0,
          "cross_entropy of ignored targets");
  // A target out of range: an Error on both sides, naming it.
  Pair bad = pair_of(std::vector<double>(37, 11), kInt64, {37});
  compare([](const std::vector<Tensor>& v) { return nn::functional::cross_entropy(v[0], v[1]); }, {x, bad}, 0.0,
          "cross_entropy with target 11 of 11 classes");
  try {
    (void)nn::functional::cross_entropy(x.dev, bad.dev);
  } catch (const Error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("Target 11 is out of bounds") != std::string::npos, e.what());
  }
}

}  // namespace fulgur::cuda_checks
