// fulgur::AutocastGuard (torch.autocast on CPU): which ops run in bfloat16 and which in
// float32 inside a region, the dtypes of outputs and gradients, values against a float32
// reference within bfloat16 rounding, nesting, disabling, and the state after an exception.
#include <stdexcept>

#include "tests/test_util.h"

using namespace fulgur;
using fulgur::testing::check_close;
using fulgur::testing::contains;
using fulgur::testing::error_message;
using fulgur::testing::values;

namespace {

// The float32 result of the same op on inputs rounded to bfloat16: what a bf16 GEMM with a
// float32 accumulator computes before its output is rounded to bfloat16 (relative error of
// that last rounding: <= 2^-8, so 1e-2 * (1 + |e|) is a safe bound).
Tensor bf16_rounded(const Tensor& t) { return t.to(kBFloat16).to(kFloat32); }
constexpr double kBf16Tol = 1e-2;

}  // namespace

TEST_CASE("outside a region nothing is cast, and the state reads disabled") {
  CHECK_FALSE(is_autocast_enabled(DeviceType::CPU));
  CHECK_FALSE(autocast_state().enabled);
  manual_seed(0);
  const Tensor a = randn({3, 4}), b = randn({4, 2});
  CHECK(a.matmul(b).dtype() == kFloat32);
  CHECK(autocast::to_lower(a).dtype() == kFloat32);
}

TEST_CASE("the GEMM family runs in bfloat16 with values of a float32-accumulated product") {
  manual_seed(1);
  const Tensor a = randn({5, 6}), b = randn({6, 3}), bias = randn({3});
  const Tensor a3 = randn({2, 5, 6}), b3 = randn({2, 6, 3});
  const Tensor img = randn({2, 3, 6, 6}), kernel = randn({4, 3, 3, 3}), kbias = randn({4});
  const Tensor tkernel = randn({3, 2, 3, 3});
  AutocastGuard guard(kCPU, kBFloat16);
  CHECK(is_autocast_enabled(DeviceType::CPU));
  CHECK(autocast_state().dtype == kBFloat16);

  const Tensor mm = a.matmul(b);
  CHECK(mm.dtype() == kBFloat16);
  // The reference outside autocast (a nested disabled region) in float32.
  Tensor ref_mm, ref_bmm, ref_lin, ref_addmm, ref_conv, ref_convt;
  {
    AutocastGuard off(kCPU, kBFloat16, /*enabled=*/false);
    ref_mm = bf16_rounded(a).matmul(bf16_rounded(b));
    ref_bmm = bf16_rounded(a3).bmm(bf16_rounded(b3));
    ref_lin = F::linear(bf16_rounded(a), bf16_rounded(b).t(), bf16_rounded(bias));
    ref_addmm = addmm(bf16_rounded(bias), bf16_rounded(a), bf16_rounded(b));
    ref_conv = F::conv2d(bf16_rounded(img), bf16_rounded(kernel), bf16_rounded(kbias));
    ref_convt = F::conv_transpose2d(bf16_rounded(img), bf16_rounded(tkernel));
    CHECK(ref_mm.dtype() == kFloat32);
  }
  check_close(mm, {5, 3}, values(ref_mm), kBf16Tol, "matmul");
  CHECK(a.mm(b).dtype() == kBFloat16);

  const Tensor bmm = a3.bmm(b3);
  CHECK(bmm.dtype() == kBFloat16);
  check_close(bmm, {2, 5, 3}, values(ref_bmm), kBf16Tol, "bmm");

  const Tensor lin = F::linear(a, b.t(), bias);
  CHECK(lin.dtype() == kBFloat16);
  check_close(lin, {5, 3}, values(ref_lin), kBf16Tol, "linear");

  const Tensor am = addmm(bias, a, b);
  CHECK(am.dtype() == kBFloat16);
  check_close(am, {5, 3}, values(ref_addmm), kBf16Tol, "addmm");

  const Tensor conv = F::conv2d(img, kernel, kbias);
  CHECK(conv.dtype() == kBFloat16);
  // A 27-term dot product: bf16 output rounding plus accumulated input rounding stays < 2e-2.
  check_close(conv, {2, 4, 4, 4}, values(ref_conv), 2e-2, "conv2d");

  const Tensor convt = F::conv_transpose2d(img, tkernel);
  CHECK(convt.dtype() == kBFloat16);
  // The transposed conv scatters bf16-rounded column products (one GEMM, then col2im), so up
  // to 27 terms carry their own 2^-8 rounding: measured error <= 0.045 here.
  check_close(convt, {2, 2, 8, 8}, values(ref_convt), 6e-2, "conv_transpose2d");

  const Tensor q = randn({1, 4, 8}), k = randn({1, 4, 8}), v = randn({1, 4, 8});
  CHECK(F::scaled_dot_product_attention(q, k, v).dtype() == kBFloat16);
}

TEST_CASE("losses, softmax, log_softmax and the norms run in float32 on bfloat16 inputs") {
  manual_seed(2);
  const Tensor x = randn({4, 5}), w = randn({5, 3});
  const Tensor target = tensor<int64_t>({0, 2, 1, 2});
  AutocastGuard guard(kCPU, kBFloat16);
  const Tensor logits = x.matmul(w);
  REQUIRE(logits.dtype() == kBFloat16);

  const Tensor ce = F::cross_entropy(logits, target);
  CHECK(ce.dtype() == kFloat32);
  Tensor ref_ce;
  {
    AutocastGuard off(kCPU, kBFloat16, false);
    ref_ce = F::cross_entropy(logits.to(kFloat32), target);  // the same bf16 logits, in float32
  }
  CHECK(ce.item<float>() == doctest::Approx(ref_ce.item<float>()).epsilon(1e-6));

  CHECK(F::nll_loss(F::log_softmax(logits, 1), target).dtype() == kFloat32);
  CHECK(F::mse_loss(logits, logits.detach() * 0.5).dtype() == kFloat32);
  CHECK(F::l1_loss(logits, logits.detach() * 0.5).dtype() == kFloat32);
  CHECK(F::binary_cross_entropy_with_logits(logits, zeros_like(logits)).dtype() == kFloat32);
  CHECK(F::softmax(logits, 1).dtype() == kFloat32);
  CHECK(F::log_softmax(logits, 1).dtype() == kFloat32);
  // An explicit dtype wins over autocast, as torch.softmax(x, dim, dtype=...) does.
  CHECK(F::softmax(logits, 1, kBFloat16).dtype() == kBFloat16);
  CHECK(F::layer_norm(logits, {3}).dtype() == kFloat32);

  nn::BatchNorm1d bn(3);
  const Tensor normed = bn(logits);
  CHECK(normed.dtype() == kFloat32);
  CHECK(bn.running_mean.dtype() == kFloat32);  // the buffers keep their dtype
  CHECK(F::group_norm(logits.reshape({4, 3, 1}), 3, Tensor(), Tensor(), 1e-5).dtype() == kFloat32);
}

TEST_CASE("other ops follow the promotion rules; integers and float64 are never cast") {
  manual_seed(3);
  const Tensor a = randn({3, 3});
  AutocastGuard guard(kCPU, kBFloat16);
  const Tensor low = a.matmul(a);
  CHECK(F::relu(low).dtype() == kBFloat16);  // not listed: runs in its input's dtype
  CHECK(low.add(a).dtype() == kFloat32);     // bfloat16 + float32 promotes to float32
  const Tensor d = a.to(kFloat64);
  CHECK(d.matmul(d).dtype() == kFloat64);  // PyTorch's autocast leaves double alone
  const Tensor i = tensor<int64_t>({1, 2, 3, 4}).reshape({2, 2});
  CHECK(i.matmul(i).dtype() == kInt64);
  CHECK(values(i.matmul(i)) == std::vector<double>{7, 10, 15, 22});
}

TEST_CASE("gradients flow through the casts back to float32 parameters") {
  manual_seed(4);
  nn::Linear layer(6, 3);
  const Tensor x = randn({8, 6});
  const Tensor target = tensor<int64_t>({0, 1, 2, 0, 1, 2, 0, 1});

  // The float32 reference gradient.
  F::cross_entropy(layer(x), target).backward();
  const Tensor ref_w = layer.weight.grad().clone(), ref_b = layer.bias.grad().clone();
  layer.zero_grad();

  Tensor loss;
  {
    AutocastGuard guard(kCPU, kBFloat16);
    const Tensor y = layer(x);
    CHECK(y.dtype() == kBFloat16);
    loss = F::cross_entropy(y, target);
  }
  CHECK(loss.dtype() == kFloat32);
  loss.backward();  // outside the region, as in Lightning (backward is not autocast)
  REQUIRE(layer.weight.grad().defined());
  CHECK(layer.weight.dtype() == kFloat32);
  CHECK(layer.weight.grad().dtype() == kFloat32);
  CHECK(layer.bias.grad().dtype() == kFloat32);
  // bf16 forward: logits and the grad_output of the GEMM carry ~2^-8 relative error.
  check_close(layer.weight.grad(), {3, 6}, values(ref_w), 3e-2, "weight.grad");
  check_close(layer.bias.grad(), {3}, values(ref_b), 3e-2, "bias.grad");
}

TEST_CASE("regions nest, an inner region can disable autocast, and the state is restored") {
  const Tensor a = ones({2, 2});
  {
    AutocastGuard outer(kCPU, kBFloat16);
    CHECK(a.matmul(a).dtype() == kBFloat16);
    {
      AutocastGuard inner(kCPU, kBFloat16, /*enabled=*/false);
      CHECK_FALSE(is_autocast_enabled());
      CHECK(a.matmul(a).dtype() == kFloat32);
      {
        AutocastGuard half(kCPU, kFloat16);
        CHECK(autocast_state().dtype == kFloat16);
        CHECK(a.matmul(a).dtype() == kFloat16);
      }
      CHECK(a.matmul(a).dtype() == kFloat32);
    }
    CHECK(is_autocast_enabled());
    CHECK(autocast_state().dtype == kBFloat16);
    CHECK(a.matmul(a).dtype() == kBFloat16);
    // A CUDA region does not cast CPU tensors.
    AutocastGuard cuda(Device::cuda(0), kFloat16);
    CHECK_FALSE(is_autocast_enabled(DeviceType::CPU));
    CHECK(is_autocast_enabled(DeviceType::CUDA));
    CHECK(a.matmul(a).dtype() == kFloat32);
  }
  CHECK_FALSE(is_autocast_enabled());
}

TEST_CASE("an exception leaving a region restores the previous state") {
  const Tensor a = ones({2, 2});
  CHECK_THROWS_AS(
      [&] {
        AutocastGuard guard(kCPU, kBFloat16);
        CHECK(a.matmul(a).dtype() == kBFloat16);
        throw std::runtime_error("boom");
      }(),
      std::runtime_error);
  CHECK_FALSE(is_autocast_enabled());
  CHECK(a.matmul(a).dtype() == kFloat32);
}

TEST_CASE("a non-16-bit dtype is refused") {
  const std::string msg = error_message([] { AutocastGuard guard(kCPU, kFloat32); });
  CHECK(contains(msg, "float32 is not a lower-precision floating type"));
  CHECK_FALSE(is_autocast_enabled());
}
