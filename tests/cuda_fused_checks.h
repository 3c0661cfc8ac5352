// The kernel table's optional fused families on CUDA tensors, reached through the user-facing
// API: F::layer_norm (fused LayerNorm, tensor/fused_layer_norm.h), optim::Adam / AdamW (the
// multi-tensor Adam kernel) and optim::GradScaler::unscale_ (the fused non-finite check and
// unscale). Each is compared with the CPU backend, and a counting wrapper around the table
// entry checks that the fused kernel, not the tensor-op fallback, did the work. Shared, like
// cuda_tensor_checks.h, by the emulated test and tests/gpu.
//
// Tolerances: LayerNorm within 2e-5 (Welford statistics against the CPU's two-pass mean and
// variance); Adam within 1e-6 relative of the CPU's fused loop (same operation order, but the
// CPU loop is built with -march=native and GCC fuses some multiply-adds into FMAs where it
// vectorises: AdamW differs by an ulp in some elements, Adam not at all); the unscaled
// gradients bit for bit (one float32 product each).
#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fulgur/autograd/autograd.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/nn/functional/layer_norm.h"
#include "fulgur/optim/adam.h"
#include "fulgur/optim/grad_scaler.h"
#include "fulgur/optim/sgd.h"
#include "fulgur/tensor/fused_layer_norm.h"
#include "fulgur/tests/cuda_tensor_checks.h"

namespace fulgur::cuda_checks {

// Counts the calls of the CUDA table's optional fused entries while alive, by re-registering
// the table with wrappers that call the real entries.
class FusedCallCounter {
 public:
  FusedCallCounter() : saved_(kernels::kernels_for(DeviceType::CUDA)) {
    original() = saved_;
    counts() = {};
    kernels::KernelTable t = saved_;
    t.layer_norm_forward = [](const kernels::LayerNormArgs& a) { ++counts().layer_norm; original().layer_norm_forward(a); };
    t.layer_norm_backward = [](const kernels::LayerNormArgs& a) {
      ++counts().layer_norm_backward;
      original().layer_norm_backward(a);
    };
    t.adam_step = [](const kernels::AdamArgs& a) {
      ++counts().adam;
      counts().adam_tensors += a.count;
      original().adam_step(a);
    };
    t.unscale_and_check_finite = [](const kernels::UnscaleArgs& a) {
      ++counts().unscale;
      original().unscale_and_check_finite(a);
    };
    kernels::register_kernels(DeviceType::CUDA, t);
  }
  ~FusedCallCounter() { kernels::register_kernels(DeviceType::CUDA, saved_); }
  FusedCallCounter(const FusedCallCounter&) = delete;
  FusedCallCounter& operator=(const FusedCallCounter&) = delete;

  struct Counts {
    int layer_norm = 0, layer_norm_backward = 0, adam = 0, unscale = 0;
    int64_t adam_tensors = 0;
  };
  static Counts& counts() {
    static Counts c;
    return c;
  }

 private:
  static kernels::KernelTable& original() {
    static kernels::KernelTable t;
    return t;
  }
  kernels::KernelTable saved_;
};

// F::layer_norm on cuda (float32: one fused node) against the CPU's composed ops: y, and the
// gradients of x, weight and bias, for one and two normalised dims, with and without the affine
// parameters, a transposed input, rows longer than a warp's (the block-per-row kernels); the
// gradient of the gradient (create_graph); an empty batch (zero parameter gradients); and a
// shape mismatch is an Error on both sides.
inline void check_layer_norm(std::mt19937& rng) {
  REQUIRE(has_fused_layer_norm(ones({2, 3}, {.device = kDev})));
  struct Case {
    Shape x, normalized;
    bool weight, bias;
    Layout layout;
  };
  const std::vector<Case> cases = {
      {{5, 7, 33}, {33}, true, true, Layout::Contiguous},    // cols not a multiple of 4
      {{6, 64}, {64}, true, true, Layout::Contiguous},       // float4 path
      {{3, 4, 6}, {4, 6}, true, false, Layout::Contiguous},  // two normalised dims, weight only
      {{9, 17}, {17}, false, true, Layout::Transposed},      // a copy is made; bias only
      {{4, 12}, {12}, false, false, Layout::Contiguous},     // no affine
      {{3, 4500}, {4500}, true, true, Layout::Contiguous},   // a block per row forward, dx too
  };
  for (const Case& c : cases) {
    const std::string what = "layer_norm " + shape_str(c.x) + " over " + shape_str(c.normalized);
    INFO(what);
    Pair x = random_pair(c.x, kFloat32, rng, c.layout, -3.0, 3.0);
    Pair w = random_pair(c.normalized, kFloat32, rng, Layout::Contiguous, 0.5, 1.5);
    Pair b = random_pair(c.normalized, kFloat32, rng);
    Pair dy = random_pair(c.x, kFloat32, rng);
    auto run = [&](const Tensor& xs, const Tensor& ws, const Tensor& bs, const Tensor& g) {
      Tensor xl = xs.detach().requires_grad_();
      Tensor wl = c.weight ? ws.detach().requires_grad_() : Tensor();
      Tensor bl = c.bias ? bs.detach().requires_grad_() : Tensor();
      Tensor y = nn::functional::layer_norm(xl, c.normalized, wl, bl, 1e-5);
      y.mul(g).sum().backward();
      return std::vector<Tensor>{y.detach(), xl.grad(), c.weight ? wl.grad() : Tensor(), c.bias ? bl.grad() : Tensor()};
    };
    const std::vector<Tensor> expected = run(x.cpu, w.cpu, b.cpu, dy.cpu);
    FusedCallCounter counter;
    const std::vector<Tensor> got = run(x.dev, w.dev, b.dev, dy.dev);
    CHECK(FusedCallCounter::counts().layer_norm == 1);
    CHECK(FusedCallCounter::counts().layer_norm_backward == 1);
    const char* names[] = {"y", "dx", "dweight", "dbias"};
    for (size_t i = 0; i < 4; ++i) {
      if (expected[i].defined()) expect_matches(expected[i], got[i], 2e-5, what + " " + names[i]);
    }
  }
  // The gradient of the gradient: through x, weight and bias (tensor ops, statistics recomputed).
  Pair x = random_pair({7, 10}, kFloat32, rng, Layout::Contiguous, -2.0, 2.0);
  Pair w = random_pair({10}, kFloat32, rng, Layout::Contiguous, 0.5, 1.5);
  Pair b = random_pair({10}, kFloat32, rng);
  auto second = [&](const Tensor& xs, const Tensor& ws, const Tensor& bs) {
    Tensor xl = xs.detach().requires_grad_(), wl = ws.detach().requires_grad_(), bl = bs.detach().requires_grad_();
    Tensor y = nn::functional::layer_norm(xl, {10}, wl, bl, 1e-5);
    const std::vector<Tensor> g = autograd::grad({y.square().sum()}, {xl, wl}, {.create_graph = true});
    g[0].square().sum().add(g[1].square().sum()).backward();
    return std::vector<Tensor>{g[0].detach(), g[1].detach(), xl.grad(), wl.grad(), bl.grad()};
  };
  const std::vector<Tensor> e2 = second(x.cpu, w.cpu, b.cpu);
  const std::vector<Tensor> d2 = second(x.dev, w.dev, b.dev);
  const char* names2[] = {"dx", "dweight", "d(dx^2 + dw^2)/dx", "d/dweight", "d/dbias"};
  for (size_t i = 0; i < e2.size(); ++i) expect_matches(e2[i], d2[i], 1e-4, std::string("layer_norm second order ") + names2[i]);
  // An empty batch through the fused node: y is empty, the parameter gradients are zero.
  {
    Tensor xl = zeros({0, 8}, {.device = kDev}).requires_grad_();
    Tensor wl = ones({8}, {.device = kDev}).requires_grad_(), bl = zeros({8}, {.device = kDev}).requires_grad_();
    Tensor y = fused_layer_norm(xl, wl, bl, 1e-5);
    CHECK(y.sizes() == Shape{0, 8});
    y.sum().backward();
    expect_matches(zeros({8}), wl.grad(), 0.0, "layer_norm dweight of an empty batch");
    expect_matches(zeros({8}), bl.grad(), 0.0, "layer_norm dbias of an empty batch");
  }
  compare([](const std::vector<Tensor>& v) { return nn::functional::layer_norm(v[0], {5}, v[1]); },
          {x, w}, 0.0, "layer_norm with a weight of the wrong size");
}

// More rows than one launch's grid of parameter-gradient blocks holds (32 x 65535): the
// blocks loop over row blocks. Too slow for the emulator: tests/gpu only.
inline void check_layer_norm_many_rows(std::mt19937& rng) {
  const int64_t rows = 32 * 65535 + 77;
  // Each row's three values are drawn from [-1, -0.5], [-0.25, 0.25] and [0.5, 1], so every
  // row's standard deviation is at least about 0.4. With three values from one range, some of
  // the 2M rows have nearly equal values, and normalising such a row divides the float32
  // rounding of x - mean by a tiny deviation: CPU and GPU then differed by 3e-5 (H200,
  // 2026-11-29), which says nothing about the kernels.
  Pair lo = random_pair({rows, 1}, kFloat32, rng, Layout::Contiguous, -1.0, -0.5);
  Pair mid = random_pair({rows, 1}, kFloat32, rng, Layout::Contiguous, -0.25, 0.25);
  Pair hi = random_pair({rows, 1}, kFloat32, rng, Layout::Contiguous, 0.5, 1.0);
  Pair x{cat({lo.cpu, mid.cpu, hi.cpu}, 1), cat({lo.dev, mid.dev, hi.dev}, 1)};
  Pair w = random_pair({3}, kFloat32, rng, Layout::Contiguous, 0.5, 1.5);
  Pair b = random_pair({3}, kFloat32, rng);
  auto run = [&](const Tensor& xs, const Tensor& ws, const Tensor& bs) {
    Tensor wl = ws.detach().requires_grad_(), bl = bs.detach().requires_grad_();
    Tensor y = nn::functional::layer_norm(xs, {3}, wl, bl, 1e-5);
    y.sum().backward();
    return std::vector<Tensor>{y.detach(), wl.grad(), bl.grad()};
  };
  const std::vector<Tensor> e = run(x.cpu, w.cpu, b.cpu);
  const std::vector<Tensor> d = run(x.dev, w.dev, b.dev);
  expect_matches(e[0], d[0], 2e-5, "layer_norm y, 2M rows");
  expect_matches(e[1], d[1], 1e-3, "layer_norm dweight, 2M rows");  // sums of 2M terms in another order
  expect_matches(e[2], d[2], 1e-3, "layer_norm dbias, 2M rows");
}

// optim::Adam / AdamW over CUDA float32 parameters take one multi-tensor launch per step and
// step number, and give the CPU fused loop's values: plain Adam, L2 weight decay with
// maximize, AdamW; parameters that start at different steps (two launches), one without a
// gradient (skipped), sizes on and off the float4 path. amsgrad and foreach = false take tensor
// ops and match too. The optimizer state stays on the parameters' device.
inline void check_adam(std::mt19937& rng) {
  const std::vector<Shape> shapes = {{37}, {8, 16}, {3, 5, 7}, {1}};
  struct Variant {
    std::string name;
    bool decoupled, amsgrad, maximize;
    double weight_decay;
    std::optional<bool> foreach;
    bool fused;
  };
  const std::vector<Variant> variants = {
      {"Adam", false, false, false, 0.0, std::nullopt, true},
      {"Adam L2 maximize", false, false, true, 0.05, std::nullopt, true},
      {"AdamW", true, false, false, 0.1, std::nullopt, true},
      {"Adam amsgrad", false, true, false, 0.0, std::nullopt, false},
      {"AdamW foreach=false", true, false, false, 0.1, false, false},
  };
  for (const Variant& v : variants) {
    INFO(v.name);
    std::vector<Pair> params, grads;
    for (const Shape& s : shapes) params.push_back(random_pair(s, kFloat32, rng));
    for (int k = 0; k < 4; ++k)
      for (const Shape& s : shapes) grads.push_back(random_pair(s, kFloat32, rng, Layout::Contiguous, -1.0, 1.0));
    auto run = [&](bool on_device) {
      std::vector<Tensor> ps;
      for (const Pair& p : params) ps.push_back((on_device ? p.dev : p.cpu).clone().requires_grad_());
      std::unique_ptr<optim::Optimizer> opt;
      if (v.decoupled) {
        opt = std::make_unique<optim::AdamW>(
            ps, optim::AdamWOptions{.lr = 0.01, .weight_decay = v.weight_decay, .amsgrad = v.amsgrad,
                                    .maximize = v.maximize, .foreach = v.foreach});
      } else {
        opt = std::make_unique<optim::Adam>(
            ps, optim::AdamOptions{.lr = 0.01, .weight_decay = v.weight_decay, .amsgrad = v.amsgrad,
                                   .maximize = v.maximize, .foreach = v.foreach});
      }
      for (int k = 0; k < 4; ++k) {
        for (size_t i = 0; i < ps.size(); ++i) {
          // Step 0 updates parameter 0 alone (it is a step ahead after); parameter 3 never has a gradient.
          const bool has_grad = i != 3 && (k > 0 || i == 0);
          const Pair& g = grads[static_cast<size_t>(k) * shapes.size() + i];
          ps[i].mutable_grad() = (has_grad ? (on_device ? g.dev : g.cpu).clone() : Tensor());
        }
        opt->step();
      }
      return ps;
    };
    const std::vector<Tensor> expected = run(false);
    FusedCallCounter counter;
    const std::vector<Tensor> got = run(true);
    if (v.fused) {
      // Step 0: one launch (parameter 0); steps 1..3: two launches (parameter 0 is one step
      // ahead of 1 and 2) over three tensors.
      CHECK(FusedCallCounter::counts().adam == 7);
      CHECK(FusedCallCounter::counts().adam_tensors == 10);
    } else {
      CHECK(FusedCallCounter::counts().adam == 0);
    }
    for (size_t i = 0; i < shapes.size(); ++i)
      expect_matches(expected[i].detach(), got[i].detach(), 1e-6, v.name + " parameter " + std::to_string(i));
  }
}

// GradScaler::unscale_ on CUDA float32 gradients: one fused launch for all of them, the CPU's
// unscaled values bit for bit; an inf or NaN anywhere skips the step (parameters unchanged)
// and halves the scale, as on the CPU; gradients of another dtype take tensor ops.
inline void check_grad_scaler(std::mt19937& rng) {
  for (double bad : {0.0, std::numeric_limits<double>::infinity(), std::nan("")}) {
    const std::string what = "GradScaler with " + (bad == 0.0 ? std::string("finite gradients") : std::to_string(bad));
    INFO(what);
    Pair p1 = random_pair({6, 5}, kFloat32, rng), p2 = random_pair({11}, kFloat32, rng);
    Pair g1 = random_pair({6, 5}, kFloat32, rng, Layout::Contiguous, -1e4, 1e4), g2 = random_pair({11}, kFloat32, rng);
    if (bad != 0.0) {
      set(g2.cpu, {7}, bad);
      g2.dev = g2.cpu.to(kDev);
    }
    auto run = [&](bool on_device) {
      Tensor a = (on_device ? p1.dev : p1.cpu).clone().requires_grad_();
      Tensor b = (on_device ? p2.dev : p2.cpu).clone().requires_grad_();
      a.mutable_grad() = ((on_device ? g1.dev : g1.cpu).clone());
      b.mutable_grad() = ((on_device ? g2.dev : g2.cpu).clone());
      optim::SGD sgd({a, b}, {.lr = 0.1});
      optim::GradScaler scaler({.init_scale = 1024.0});
      scaler.unscale_(sgd);
      std::vector<Tensor> out = {a.grad().clone(), b.grad().clone()};
      const bool stepped = scaler.step(sgd);
      scaler.update();
      out.push_back(a.detach());
      out.push_back(b.detach());
      return std::make_tuple(out, stepped, scaler.get_scale());
    };
    const auto [expected, stepped_cpu, scale_cpu] = run(false);
    FusedCallCounter counter;
    const auto [got, stepped_dev, scale_dev] = run(true);
    CHECK(FusedCallCounter::counts().unscale == 1);
    CHECK(stepped_cpu == (bad == 0.0));
    CHECK(stepped_dev == stepped_cpu);
    CHECK(scale_dev == scale_cpu);
    expect_matches(expected[0], got[0], 0.0, what + " unscaled grad 1");
    expect_matches(expected[1], got[1], 0.0, what + " unscaled grad 2");
    // A skipped step leaves the parameters as they were; an SGD step (tensor ops on cuda, the
    // fused loop on the CPU) agrees within an ulp.
    expect_matches(stepped_dev ? expected[2] : p1.cpu, got[2], stepped_dev ? 1e-6 : 0.0, what + " parameter 1");
    expect_matches(stepped_dev ? expected[3] : p2.cpu, got[3], stepped_dev ? 1e-6 : 0.0, what + " parameter 2");
  }
  // float64 gradients are not the kernel's: tensor ops, same result.
  Tensor a = ones({3}, {.dtype = kFloat64, .device = kDev}).requires_grad_();
  a.mutable_grad() = (full({3}, 512.0, {.dtype = kFloat64, .device = kDev}));
  optim::SGD sgd({a}, {.lr = 0.1});
  optim::GradScaler scaler({.init_scale = 256.0});
  FusedCallCounter counter;
  scaler.unscale_(sgd);
  CHECK(FusedCallCounter::counts().unscale == 0);
  expect_matches(full({3}, 2.0, {.dtype = kFloat64}), a.grad(), 0.0, "float64 gradient unscaled by tensor ops");
}

}  // namespace fulgur::cuda_checks
