// The fused training-mode batch norm (tensor/fused_batch_norm.h) that
// nn::functional::batch_norm takes where a device's kernel table has the batch_norm family
// (the CUDA backend's cuDNN, which needs a GPU: tests/gpu runs it there). Here the CPU table
// gets a direct-loop reference in that family for the duration of a test, so the op's
// plumbing (the [N, C, S] view, ones / zeros for no affine, the running statistics, the
// autograd node, create_graph, when the fused path is taken) is checked against the composed
// path, which nn_norm_test checks against PyTorch.
#include "fulgur/tests/test_util.h"

#include "fulgur/autograd/autograd.h"
#include "fulgur/autograd/gradcheck.h"
#include "fulgur/autograd/node.h"
#include "fulgur/kernels/backends.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/tensor/algorithm_flags.h"
#include "fulgur/tensor/fused_batch_norm.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

struct Calls {
  int forward = 0, backward = 0;
};
Calls g_calls;

// Per-channel statistics in double, then the outputs in T (data) and P (statistics).
template <typename T, typename P>
void forward_t(const kernels::BatchNormArgs& a) {
  const T* x = reinterpret_cast<const T*>(a.x);
  const P* w = reinterpret_cast<const P*>(a.weight);
  const P* b = reinterpret_cast<const P*>(a.bias);
  T* y = reinterpret_cast<T*>(a.y);
  const int64_t m = a.batch * a.spatial;
  for (int64_t c = 0; c < a.channels; ++c) {
    const auto at = [&](int64_t n, int64_t s) { return (n * a.channels + c) * a.spatial + s; };
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < a.batch; ++n)
      for (int64_t s = 0; s < a.spatial; ++s) sum += static_cast<double>(x[at(n, s)]);
    const double mean = sum / m;
    for (int64_t n = 0; n < a.batch; ++n)
      for (int64_t s = 0; s < a.spatial; ++s) sq += (static_cast<double>(x[at(n, s)]) - mean) * (x[at(n, s)] - mean);
    const double var = sq / m, invstd = 1.0 / std::sqrt(var + a.eps);
    for (int64_t n = 0; n < a.batch; ++n)
      for (int64_t s = 0; s < a.spatial; ++s)
        y[at(n, s)] = static_cast<T>((x[at(n, s)] - mean) * invstd * w[c] + b[c]);
    reinterpret_cast<P*>(a.save_mean)[c] = static_cast<P>(mean);
    reinterpret_cast<P*>(a.save_invstd)[c] = static_cast<P>(invstd);
    if (a.running_mean) {
      P* rm = reinterpret_cast<P*>(a.running_mean);
      P* rv = reinterpret_cast<P*>(a.running_var);
      rm[c] = static_cast<P>((1 - a.momentum) * rm[c] + a.momentum * mean);
      rv[c] = static_cast<P>((1 - a.momentum) * rv[c] + a.momentum * sq / (m - 1));
    }
  }
}

template <typename T, typename P>
void backward_t(const kernels::BatchNormArgs& a) {
  const T* x = reinterpret_cast<const T*>(a.x);
  const T* dy = reinterpret_cast<const T*>(a.dy);
  const P* w = reinterpret_cast<const P*>(a.weight);
  T* dx = reinterpret_cast<T*>(a.dx);
  const int64_t m = a.batch * a.spatial;
  for (int64_t c = 0; c < a.channels; ++c) {
    const auto at = [&](int64_t n, int64_t s) { return (n * a.channels + c) * a.spatial + s; };
    const double mean = reinterpret_cast<const P*>(a.save_mean)[c];
    const double invstd = reinterpret_cast<const P*>(a.save_invstd)[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < a.batch; ++n)
      for (int64_t s = 0; s < a.spatial; ++s) {
        sum_dy += dy[at(n, s)];
        sum_dy_xhat += dy[at(n, s)] * (x[at(n, s)] - mean) * invstd;
      }
    for (int64_t n = 0; n < a.batch; ++n)
      for (int64_t s = 0; s < a.spatial; ++s) {
        const double xhat = (x[at(n, s)] - mean) * invstd;
        dx[at(n, s)] = static_cast<T>(w[c] * invstd * (dy[at(n, s)] - sum_dy / m - xhat * sum_dy_xhat / m));
      }
    reinterpret_cast<P*>(a.dweight)[c] = static_cast<P>(sum_dy_xhat);
    reinterpret_cast<P*>(a.dbias)[c] = static_cast<P>(sum_dy);
  }
}

void ref_forward(const kernels::BatchNormArgs& a) {
  ++g_calls.forward;
  a.dtype == DType::Float64 ? forward_t<double, double>(a) : forward_t<float, float>(a);
}
void ref_backward(const kernels::BatchNormArgs& a) {
  ++g_calls.backward;
  a.dtype == DType::Float64 ? backward_t<double, double>(a) : backward_t<float, float>(a);
}
bool ref_supports(const kernels::BatchNormArgs& a) {
  return a.dtype == DType::Float64 || a.dtype == DType::Float32;
}

class ReferenceBatchNormOnCpu {
 public:
  ReferenceBatchNormOnCpu()
      : saved_((kernels::ensure_backends_registered(), kernels::kernels_for(DeviceType::CPU))) {
    kernels::KernelTable t = saved_;
    t.batch_norm_forward = &ref_forward;
    t.batch_norm_backward = &ref_backward;
    t.supports_batch_norm = &ref_supports;
    kernels::register_kernels(DeviceType::CPU, t);
    g_calls = {};
  }
  ~ReferenceBatchNormOnCpu() {
    kernels::register_kernels(DeviceType::CPU, saved_);
    set_cudnn_enabled(true);
  }

 private:
  kernels::KernelTable saved_;
};

Tensor rnd(IntArrayRef shape, std::mt19937& rng, DType dtype = kFloat64, double lo = -1.0, double hi = 1.0) {
  return random_tensor(shape, dtype, rng, Layout::Contiguous, lo, hi);
}

double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined() == b.defined());
  if (!a.defined()) return 0.0;
  REQUIRE(a.sizes() == b.sizes());
  return a.to(kFloat64).sub(b.to(kFloat64)).abs().max().item<double>();
}

// y, dx, dw, db, running mean and var after one training step of batch_norm.
std::vector<Tensor> step(const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& rm0, const Tensor& rv0,
                         const Tensor& g) {
  Tensor x = x0.clone().requires_grad_();
  Tensor w = w0.defined() ? w0.clone().requires_grad_() : Tensor();
  Tensor b = b0.defined() ? b0.clone().requires_grad_() : Tensor();
  Tensor rm = rm0.defined() ? rm0.clone() : Tensor(), rv = rv0.defined() ? rv0.clone() : Tensor();
  const Tensor y = F::batch_norm(x, rm, rv, w, b, /*training=*/true, 0.3, 1e-4);
  y.mul(g).sum().backward();
  return {y.detach(), x.grad(), w.defined() ? w.grad() : Tensor(), b.defined() ? b.grad() : Tensor(), rm, rv};
}

}  // namespace

TEST_CASE("fused batch norm: equals the composed path (2-5 dims, no affine, no running stats, float32)") {
  ReferenceBatchNormOnCpu scope;
  std::mt19937 rng(3);
  for (DType dtype : {kFloat64, kFloat32}) {
    for (const Shape& shape : {Shape{6, 4}, Shape{3, 5, 7}, Shape{2, 3, 4, 5}, Shape{2, 2, 3, 2, 3}}) {
      for (int variant = 0; variant < 3; ++variant) {  // full, no affine, no running statistics
        INFO(dtype, " ", shape_str(shape), " variant ", variant);
        const int64_t C = shape[1];
        const Tensor x = rnd(shape, rng, dtype, -2, 3);
        const Tensor w = variant == 1 ? Tensor() : rnd({C}, rng, dtype);
        const Tensor b = variant == 1 ? Tensor() : rnd({C}, rng, dtype);
        const Tensor rm = variant == 2 ? Tensor() : rnd({C}, rng, dtype);
        const Tensor rv = variant == 2 ? Tensor() : rnd({C}, rng, dtype, 0.5, 2);
        const Tensor g = rnd(shape, rng, dtype);
        const int before = g_calls.forward;
        const auto fused = step(x, w, b, rm, rv, g);
        CHECK(g_calls.forward == before + 1);
        set_cudnn_enabled(false);
        const auto composed = step(x, w, b, rm, rv, g);
        set_cudnn_enabled(true);
        CHECK(g_calls.forward == before + 1);
        const double tol = dtype == kFloat64 ? 1e-12 : 2e-5;
        for (size_t i = 0; i < fused.size(); ++i) {
          INFO("result ", i, " (y, dx, dw, db, running mean, running var)");
          CHECK(max_diff(fused[i], composed[i]) <= tol);
          if (fused[i].defined()) CHECK(fused[i].dtype() == dtype);
        }
      }
    }
  }
  CHECK(g_calls.backward > 0);
}

TEST_CASE("fused batch norm: only what is asked for; evaluation mode and other dtypes stay composed") {
  ReferenceBatchNormOnCpu scope;
  std::mt19937 rng(4);
  const Tensor x = rnd({4, 3, 5}, rng);
  Tensor rm = zeros({3}, {.dtype = kFloat64}), rv = ones({3}, {.dtype = kFloat64});
  // Evaluation: the running statistics' affine map, composed.
  F::batch_norm(x, rm, rv, Tensor(), Tensor(), /*training=*/false, 0.1, 1e-5);
  CHECK(g_calls.forward == 0);
  // Parameters of another dtype than the statistics' (float32 weight, float64 x): composed.
  F::batch_norm(x, rm, rv, ones({3}, {.dtype = kFloat32}), Tensor(), true, 0.1, 1e-5);
  CHECK(g_calls.forward == 0);
  // Only one running statistic: composed.
  F::batch_norm(x, rm, Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  CHECK(g_calls.forward == 0);
  // Without grad: forward only.
  {
    NoGradGuard no_grad;
    F::batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5);
  }
  CHECK(g_calls.forward == 1);
  CHECK(g_calls.backward == 0);
  // nn::BatchNorm2d in training runs the fused op; its buffers move; eval composes.
  nn::BatchNorm2d bn(3);
  bn.to(kFloat64);
  const Tensor img = rnd({2, 3, 4, 4}, rng, kFloat64, 1, 3);
  bn.forward(img).sum().backward();
  CHECK(g_calls.forward == 2);
  CHECK(g_calls.backward == 1);
  CHECK(bn.forward(img).grad_fn()->name() == "NativeBatchNormBackward");
  CHECK(g_calls.forward == 3);
  // The in-place update of the running statistics moves their version, as mul_/add_ do.
  const uint64_t version = bn.running_mean.version();
  bn.forward(img);
  CHECK(bn.running_mean.version() > version);
  CHECK(bn.running_mean.min().item<double>() > 0.1);  // moved from 0 towards the mean (about 2)
  bn.eval();
  bn.forward(img);
  CHECK(g_calls.forward == 4);
}

TEST_CASE("fused batch norm: second derivatives (create_graph) and a finite-difference gradcheck") {
  ReferenceBatchNormOnCpu scope;
  std::mt19937 rng(5);
  const autograd::GradcheckOptions second{.check_second_order = true};
  auto f = [](const std::vector<Tensor>& v) {
    return F::batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], true, 0.1, 1e-5);
  };
  CHECK(autograd::gradcheck(f, {rnd({3, 2, 4}, rng).requires_grad_(), rnd({2}, rng).requires_grad_(),
                                rnd({2}, rng).requires_grad_()}, second));
  CHECK(g_calls.forward > 0);
}
