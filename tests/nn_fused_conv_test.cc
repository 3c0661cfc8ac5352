// The fused convolution path (tensor/fused_conv.h) that nn::functional::conv*d takes where a
// device's kernel table has the conv family (the CUDA backend's cuDNN, which needs a GPU:
// tests/gpu runs it there). Here the CPU table gets a direct-loop reference convolution in
// that family for the duration of a test, so the op's plumbing (geometry, groups, layouts,
// the autograd node, create_graph, when the fused path is taken and when not) is checked
// against PyTorch's golden values and against the composed im2col + GEMM path.
#include "fulgur/tests/test_util.h"
#include "tests/golden/nn_conv_golden.inc"

#include "fulgur/autograd/autograd.h"
#include "fulgur/autograd/gradcheck.h"
#include "fulgur/autograd/node.h"
#include "fulgur/kernels/backends.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/tensor/algorithm_flags.h"
#include "fulgur/tensor/fused_conv.h"
#include "fulgur/tensor/trace.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

// What the reference kernels saw.
struct Calls {
  int forward = 0, input = 0, weight = 0;
  kernels::ConvArgs last;
};
Calls g_calls;

// A ConvArgs geometry with every dim padded to 3 (size 1, stride 1, no padding).
struct Geo {
  int64_t image[3], kernel[3], grid[3], stride[3], padding[3], dilation[3];
};
Geo geo_of(const kernels::ConvArgs& a) {
  Geo g;
  for (int d = 0; d < 3; ++d) {
    const bool real = d < a.w.nspatial;
    g.image[d] = real ? a.w.image_sizes[d] : 1;
    g.kernel[d] = real ? a.w.kernel[d] : 1;
    g.grid[d] = real ? a.w.grid[d] : 1;
    g.stride[d] = real ? a.w.stride[d] : 1;
    g.padding[d] = real ? a.w.padding[d] : 0;
    g.dilation[d] = real ? a.w.dilation[d] : 1;
  }
  return g;
}

// Calls visit(x offset, weight offset, y offset) for every (n, co, grid point, ci, kernel
// offset) whose image coordinate is inside the image: the definition of a grouped
// cross-correlation, written out directly (no im2col).
template <typename Visit>
void each_term(const kernels::ConvArgs& a, Visit&& visit) {
  const Geo g = geo_of(a);
  const int64_t cin_g = a.in_channels / a.groups, cout_g = a.out_channels / a.groups;
  const int64_t isz = g.image[0] * g.image[1] * g.image[2], ksz = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t gsz = g.grid[0] * g.grid[1] * g.grid[2];
  for (int64_t n = 0; n < a.batch; ++n)
    for (int64_t co = 0; co < a.out_channels; ++co)
      for (int64_t p0 = 0; p0 < g.grid[0]; ++p0)
        for (int64_t p1 = 0; p1 < g.grid[1]; ++p1)
          for (int64_t p2 = 0; p2 < g.grid[2]; ++p2)
            for (int64_t cl = 0; cl < cin_g; ++cl)
              for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
                for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
                  for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
                    const int64_t i0 = p0 * g.stride[0] - g.padding[0] + k0 * g.dilation[0];
                    const int64_t i1 = p1 * g.stride[1] - g.padding[1] + k1 * g.dilation[1];
                    const int64_t i2 = p2 * g.stride[2] - g.padding[2] + k2 * g.dilation[2];
                    if (i0 < 0 || i1 < 0 || i2 < 0 || i0 >= g.image[0] || i1 >= g.image[1] || i2 >= g.image[2])
                      continue;
                    const int64_t ci = co / cout_g * cin_g + cl;
                    const int64_t xo = (n * a.in_channels + ci) * isz + (i0 * g.image[1] + i1) * g.image[2] + i2;
                    const int64_t wo = (co * cin_g + cl) * ksz + (k0 * g.kernel[1] + k1) * g.kernel[2] + k2;
                    const int64_t yo = (n * a.out_channels + co) * gsz + (p0 * g.grid[1] + p1) * g.grid[2] + p2;
                    visit(xo, wo, yo);
                  }
}

int64_t count(const kernels::ConvArgs& a, int64_t channels, const int64_t* sizes) {
  int64_t n = channels;
  for (int d = 0; d < a.w.nspatial; ++d) n *= sizes[d];
  return n;
}

template <typename T>
void forward_t(const kernels::ConvArgs& a) {
  const T* x = reinterpret_cast<const T*>(a.x);
  const T* w = reinterpret_cast<const T*>(a.weight);
  T* y = reinterpret_cast<T*>(a.y);
  std::fill(y, y + a.batch * count(a, a.out_channels, a.w.grid), T(0));
  each_term(a, [&](int64_t xo, int64_t wo, int64_t yo) { y[yo] += x[xo] * w[wo]; });
}
template <typename T>
void input_t(const kernels::ConvArgs& a) {
  const T* dy = reinterpret_cast<const T*>(a.dy);
  const T* w = reinterpret_cast<const T*>(a.weight);
  T* dx = reinterpret_cast<T*>(a.dx);
  std::fill(dx, dx + a.batch * count(a, a.in_channels, a.w.image_sizes), T(0));
  each_term(a, [&](int64_t xo, int64_t wo, int64_t yo) { dx[xo] += dy[yo] * w[wo]; });
}
template <typename T>
void weight_t(const kernels::ConvArgs& a) {
  const T* dy = reinterpret_cast<const T*>(a.dy);
  const T* x = reinterpret_cast<const T*>(a.x);
  T* dw = reinterpret_cast<T*>(a.dweight);
  std::fill(dw, dw + count(a, a.out_channels * (a.in_channels / a.groups), a.w.kernel), T(0));
  each_term(a, [&](int64_t xo, int64_t wo, int64_t yo) { dw[wo] += dy[yo] * x[xo]; });
}

void ref_forward(const kernels::ConvArgs& a) {
  ++g_calls.forward;
  g_calls.last = a;
  a.dtype == DType::Float64 ? forward_t<double>(a) : forward_t<float>(a);
}
void ref_input(const kernels::ConvArgs& a) {
  ++g_calls.input;
  a.dtype == DType::Float64 ? input_t<double>(a) : input_t<float>(a);
}
void ref_weight(const kernels::ConvArgs& a) {
  ++g_calls.weight;
  a.dtype == DType::Float64 ? weight_t<double>(a) : weight_t<float>(a);
}
bool ref_supports(const kernels::ConvArgs& a) { return a.dtype == DType::Float64 || a.dtype == DType::Float32; }

// The CPU table with the reference conv family, for one scope.
class ReferenceConvOnCpu {
 public:
  ReferenceConvOnCpu() : saved_((kernels::ensure_backends_registered(), kernels::kernels_for(DeviceType::CPU))) {
    kernels::KernelTable t = saved_;
    t.conv_forward = &ref_forward;
    t.conv_backward_input = &ref_input;
    t.conv_backward_weight = &ref_weight;
    t.supports_conv = &ref_supports;
    kernels::register_kernels(DeviceType::CPU, t);
    g_calls = {};
  }
  ~ReferenceConvOnCpu() {
    kernels::register_kernels(DeviceType::CPU, saved_);
    set_cudnn_enabled(true);
    set_cudnn_benchmark(false);
    use_deterministic_algorithms(false);
  }

 private:
  kernels::KernelTable saved_;
};

Tensor rnd(IntArrayRef shape, std::mt19937& rng, DType dtype = kFloat64) {
  return random_tensor(shape, dtype, rng, Layout::Contiguous, -1.0, 1.0);
}

nn::ConvPadding golden_padding(const nn_golden::GCase& c) {
  if (nn_golden::has_str(c, "padding")) return nn::ConvPadding(nn_golden::str(c, "padding"));
  return nn::ConvPadding(nn_golden::ints(c, "padding"));
}

// out, dx, dw, db of conv(x, w, b) with backward of sum(out * g).
std::vector<Tensor> run_conv(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& conv,
                             const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& g) {
  Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_(), b = b0.detach().requires_grad_();
  const Tensor out = conv(x, w, b);
  out.mul(g).sum().backward();
  return {out.detach(), x.grad(), w.grad(), b.grad()};
}

}  // namespace

TEST_CASE("fused conv: PyTorch's golden conv1d/2d/3d cases, values and gradients, on the fused path") {
  ReferenceConvOnCpu scope;
  int checked = 0, fused = 0;
  for (const char* kind : {"conv1d", "conv2d", "conv3d"}) {
    for (const nn_golden::GCase* cp : nn_golden::cases_of_kind(kind)) {
      const nn_golden::GCase& c = *cp;
      INFO("golden case ", c.name);
      using nn_golden::int1;
      using nn_golden::ints;
      Tensor x = nn_golden::tensor(c, "input").requires_grad_();
      Tensor w = nn_golden::tensor(c, "weight").requires_grad_();
      Tensor b = nn_golden::tensor(c, "bias");
      if (b.defined()) b.requires_grad_();
      auto fn = std::string(kind) == "conv1d" ? F::conv1d : std::string(kind) == "conv2d" ? F::conv2d : F::conv3d;
      const int before = g_calls.forward;
      const Tensor out = fn(x, w, b, ints(c, "stride"), golden_padding(c), ints(c, "dilation"), int1(c, "groups"));
      fused += g_calls.forward > before;
      nn_golden::expect_golden(out, c, "out");
      out.mul(nn_golden::tensor(c, "grad_out")).sum().backward();
      nn_golden::expect_golden(x.grad(), c, "grad.input");
      nn_golden::expect_golden(w.grad(), c, "grad.weight");
      if (b.defined() && nn_golden::has_tensor(c, "grad.bias")) nn_golden::expect_golden(b.grad(), c, "grad.bias");
      ++checked;
    }
  }
  CHECK(checked >= 6);
  // Every case but padding="same" with an odd total (asymmetric) takes the fused op.
  CHECK(fused >= checked - 2);
  CHECK(fused > 0);
  CHECK(g_calls.input == fused);
  CHECK(g_calls.weight == fused);
}

TEST_CASE("fused conv: equals the composed im2col + GEMM path (groups, strides, dilation, 1-3 dims, float32)") {
  ReferenceConvOnCpu scope;
  std::mt19937 rng(11);
  struct Case {
    Shape x, w;
    Shape stride, padding, dilation;
    int64_t groups;
  };
  const std::vector<Case> cases = {
      {{2, 4, 9}, {6, 2, 3}, {2}, {1}, {2}, 2},
      {{3, 3, 7, 6}, {5, 3, 3, 2}, {1, 2}, {1, 0}, {1, 1}, 1},
      {{2, 4, 5, 5}, {4, 1, 3, 3}, {1, 1}, {2, 2}, {2, 2}, 4},  // depthwise
      {{1, 2, 4, 5, 3}, {3, 2, 2, 3, 1}, {1, 2, 1}, {1, 1, 0}, {1, 1, 2}, 1},
      {{2, 8, 4, 4}, {6, 8, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1},  // pointwise: composed skips im2col
  };
  for (DType dtype : {kFloat64, kFloat32}) {
    for (const Case& c : cases) {
      INFO("x ", shape_str(c.x), " w ", shape_str(c.w), " ", dtype);
      const Tensor x = rnd(c.x, rng, dtype), w = rnd(c.w, rng, dtype), b = rnd({c.w[0]}, rng, dtype);
      const auto conv = [&](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
        const nn::ConvPadding pad(c.padding);
        if (c.x.size() == 3) return F::conv1d(xi, wi, bi, c.stride, pad, c.dilation, c.groups);
        if (c.x.size() == 4) return F::conv2d(xi, wi, bi, c.stride, pad, c.dilation, c.groups);
        return F::conv3d(xi, wi, bi, c.stride, pad, c.dilation, c.groups);
      };
      set_cudnn_enabled(true);
      const int before = g_calls.forward;
      const Tensor probe = conv(x, w, b);
      const Tensor g = rnd(probe.sizes(), rng, dtype);
      const auto fused = run_conv(conv, x, w, b, g);
      CHECK(g_calls.forward == before + 2);
      set_cudnn_enabled(false);
      const auto composed = run_conv(conv, x, w, b, g);
      CHECK(g_calls.forward == before + 2);  // the switch turns the fused path off
      const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
      for (size_t i = 0; i < fused.size(); ++i) {
        INFO("result ", i);
        CHECK(fused[i].sizes() == composed[i].sizes());
        CHECK(fused[i].dtype() == dtype);
        CHECK(fused[i].sub(composed[i]).abs().max().item<double>() <= tol);
      }
    }
  }
}

TEST_CASE("fused conv: second derivatives (create_graph) and a finite-difference gradcheck") {
  ReferenceConvOnCpu scope;
  std::mt19937 rng(5);
  const autograd::GradcheckOptions second{.check_second_order = true};
  auto f = [](const std::vector<Tensor>& v) { return F::conv2d(v[0], v[1], v[2], {2, 1}, {1, 0}, {1, 2}, 2); };
  const int before = g_calls.forward;
  CHECK(autograd::gradcheck(f, {rnd({2, 4, 5, 5}, rng).requires_grad_(), rnd({4, 2, 2, 2}, rng).requires_grad_(),
                                rnd({4}, rng).requires_grad_()}, second));
  CHECK(g_calls.forward > before);
  // d/dx of sum(grad_w^2), through the create_graph formulas, against the composed path's.
  const Tensor x0 = rnd({1, 2, 4, 4}, rng), w0 = rnd({3, 2, 3, 3}, rng);
  const auto second_grad = [&](bool fused_path) {
    set_cudnn_enabled(fused_path);
    Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_();
    const int calls = g_calls.forward;
    const Tensor y = F::conv2d(x, w, Tensor(), 1, 1);
    CHECK(g_calls.forward == calls + (fused_path ? 1 : 0));
    const auto grads = autograd::grad({y.square().sum()}, {x, w}, {.create_graph = true});
    const Tensor z = grads[1].square().sum().add(grads[0].square().sum());
    return autograd::grad({z}, {x, w});
  };
  const auto a = second_grad(true), b = second_grad(false);
  CHECK(a[0].sub(b[0]).abs().max().item<double>() < 1e-10);
  CHECK(a[1].sub(b[1]).abs().max().item<double>() < 1e-10);
}

TEST_CASE("fused conv: the input's gradient is computed only when something takes it") {
  ReferenceConvOnCpu scope;
  std::mt19937 rng(2);
  const Tensor x = rnd({2, 3, 6, 6}, rng);  // an image: no grad
  Tensor w = rnd({4, 3, 3, 3}, rng).requires_grad_();
  F::conv2d(x, w).sum().backward();
  CHECK(g_calls.forward == 1);
  CHECK(g_calls.weight == 1);
  CHECK(g_calls.input == 0);
  // A frozen weight: only the input's gradient.
  Tensor x2 = rnd({2, 3, 6, 6}, rng).requires_grad_();
  F::conv2d(x2, w.detach()).sum().backward();
  CHECK(g_calls.input == 1);
  CHECK(g_calls.weight == 1);
  CHECK(x2.grad().defined());
  // The node is named like PyTorch's (ConvolutionBackward0 there).
  CHECK(F::conv2d(x2, w).grad_fn()->name() == "ConvolutionBackward");
}

TEST_CASE("fused conv: when the composed path runs instead, and what reaches the kernels") {
  ReferenceConvOnCpu scope;
  std::mt19937 rng(8);
  const Tensor x = rnd({1, 2, 5, 6}, rng), w = rnd({3, 2, 2, 3}, rng);
  // padding="same" with an even kernel pads asymmetrically: composed.
  F::conv2d(x, w, Tensor(), 1, "same");
  CHECK(g_calls.forward == 0);
  // An empty batch: composed (no kernel launch for nothing).
  const Tensor y0 = F::conv2d(rnd({0, 2, 5, 6}, rng), w);
  CHECK(y0.sizes() == Shape{0, 3, 4, 4});
  CHECK(g_calls.forward == 0);
  // A dtype the table does not take (bfloat16 here): composed.
  F::conv2d(x.to(kBFloat16), w.to(kBFloat16));
  CHECK(g_calls.forward == 0);
  // Unbatched input and a transposed (non-contiguous) view: fused, with contiguous buffers.
  const Tensor xt = rnd({2, 6, 5}, rng).transpose(1, 2);
  const Tensor y = F::conv2d(xt, w, Tensor(), {2, 1}, {1, 1});
  CHECK(g_calls.forward == 1);
  CHECK(y.sizes() == Shape{3, 3, 6});
  const kernels::ConvArgs& a = g_calls.last;
  CHECK(a.batch == 1);
  CHECK(a.in_channels == 2);
  CHECK(a.out_channels == 3);
  CHECK(a.w.nspatial == 2);
  CHECK(a.w.grid[0] == 3);
  CHECK(a.w.grid[1] == 6);
  CHECK(a.w.stride[0] == 2);
  CHECK(a.w.padding[1] == 1);
  CHECK_FALSE(a.deterministic);
  CHECK_FALSE(a.benchmark);
  set_cudnn_enabled(false);
  const Tensor composed = F::conv2d(xt, w, Tensor(), {2, 1}, {1, 1});
  CHECK(y.sub(composed).abs().max().item<double>() < 1e-12);
  set_cudnn_enabled(true);
  // The process-wide switches reach the kernels.
  use_deterministic_algorithms(true);
  set_cudnn_benchmark(true);
  F::conv2d(x, w);
  CHECK(g_calls.last.deterministic);
  CHECK(g_calls.last.benchmark);
}

TEST_CASE("fused conv: tracing records one Conv from the composed path, not the fused node") {
  ReferenceConvOnCpu scope;
  std::mt19937 rng(4);
  const Tensor x = rnd({1, 2, 5, 5}, rng), w = rnd({3, 2, 3, 3}, rng);
  struct Recorder : TraceRecorder {
    std::vector<std::string> names;
    void on_op(OpId, const std::vector<Tensor>&, const OpAttrs&, const std::vector<Tensor>&) override {
      names.push_back("primitive");
    }
    void on_inplace(const Tensor&, const Tensor&) override {}
    bool is_traced(const Tensor&) const override { return true; }
    void on_named_op(const std::string& name, const std::vector<Tensor>&, const TraceAttrs&,
                     const std::vector<Tensor>&) override {
      names.push_back(name);
    }
  } recorder;
  {
    TraceRecorderGuard guard(&recorder);
    F::conv2d(x, w);
  }
  CHECK(g_calls.forward == 0);
  REQUIRE(recorder.names.size() == 1);
  CHECK(recorder.names[0] == "conv");
}
