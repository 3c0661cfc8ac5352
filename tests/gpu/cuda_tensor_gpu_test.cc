// CUDA tensors on a real GPU: the checks of tests/cuda_tensor_checks.h (every family of the
// CUDA backend's kernel table vs the CPU backend, round trips, errors, autograd), which
// tests/cuda_tensor_emulated_test.cc runs on the emulated device in every build. Here the
// kernels are the nvcc build (Exec::Gpu) and memory comes from the caching allocator over
// cudaMalloc. Skips visibly without a device.
#include <string>

#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/kernels/cuda/cudnn_conv.h"
#include "fulgur/kernels/cuda/gemm_choice.h"
#include "fulgur/tests/cuda_tensor_checks.h"
#include "fulgur/tests/cuda_fused_checks.h"
#include "fulgur/tests/cuda_pinned_checks.h"
#include "fulgur/tests/cuda_tensor_nn_checks.h"
#include "fulgur/tensor/algorithm_flags.h"
#include "fulgur/tensor/fused_batch_norm.h"
#include "fulgur/tensor/fused_conv.h"
#include "tests/gpu/skip_without_gpu.h"

using namespace fulgur;
using namespace fulgur::cuda_checks;

namespace {

// The backend must be the GPU's, not the emulated device (FULGUR_CUDA_EMULATION=1 would
// make these checks run on the CPU and prove nothing about the device).
void require_real_gpu() {
  (void)ones({1}, {.device = kDev});
  REQUIRE_MESSAGE(cuda::backend_kind() == cuda::BackendKind::Gpu,
                  "cuda:0 is not a real GPU here; unset FULGUR_CUDA_EMULATION");
}

}  // namespace

TEST_CASE("gpu: cuda:0 is a real device with the caching allocator") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  MESSAGE("running on " << cuda::tensor_device_name(0));
  CHECK(cuda::tensor_device_name(0).find("emulated") == std::string::npos);
  Tensor d = ones({5, 3}, {.device = kDev});
  CHECK(reinterpret_cast<uintptr_t>(d.data_ptr()) % 256 == 0);
  CHECK(d.sum().item().to_double() == 15.0);
}

TEST_CASE("gpu: to(cuda) round trips every dtype and special value") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_round_trip();
}

TEST_CASE("gpu: save and load of device tensors: location cuda:0, back on the device with a MapLocation") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_save_load_on_device();
}

TEST_CASE("gpu: copy between every dtype pair, any strides") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(1);
  check_copy(rng);
}

TEST_CASE("gpu: fill") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(2);
  check_fill(rng);
}

TEST_CASE("gpu: every unary op") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(3);
  check_unary(rng, /*emulated=*/false);
}

TEST_CASE("gpu: every binary op") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(4);
  check_binary(rng, /*emulated=*/false);
}

TEST_CASE("gpu: where and clamp") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(5);
  check_where_clamp(rng);
}

TEST_CASE("gpu: reductions") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(6);
  check_reduce(rng);
}

TEST_CASE("gpu: arange and linspace") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_sequence();
}

TEST_CASE("gpu: errors: mixed devices, dtypes a CUDA kernel lacks") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_errors();
}

TEST_CASE("gpu: matmul, batched and transposed, and linear; gradients through them") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(13);
  check_matmul(rng);
}

// cuBLASLt (run.sh puts libcublasLt on the library path) and our GEMMs, each forced in turn.
TEST_CASE("gpu: matmul gives the CPU's results on cuBLASLt and on ours; the choice says which") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  const cuda::GemmChoice big = cuda::gemm_choice({DType::BFloat16, 4096, 4096, 4096});
  MESSAGE("bf16 4096^3: " << big.reason);
  CHECK(big.backend == cuda::GemmBackend::CublasLt);
  MESSAGE("fp32 300x200x1024: " << cuda::gemm_choice({DType::Float32, 300, 200, 1024}).reason);
  for (const cuda::GemmPolicy policy : {cuda::GemmPolicy::CublasLt, cuda::GemmPolicy::Ours}) {
    const std::string policy_name = policy == cuda::GemmPolicy::Ours ? "ours" : "cuBLASLt";
    INFO("policy " << policy_name);
    cuda::set_gemm_policy(policy);
    std::mt19937 rng(17);
    check_matmul(rng);
    check_matmul_layouts(rng, /*large_shapes=*/true);
  }
  cuda::set_gemm_policy(cuda::GemmPolicy::Auto);
}

TEST_CASE("gpu: autograd gives the CPU's gradients") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(7);
  check_autograd(rng, /*emulated=*/false);
}

TEST_CASE("gpu: gather, scatter, index_select and masked_select on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(21);
  check_indexing(rng);
}

TEST_CASE("gpu: sort, argsort and topk on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(22);
  check_sort(rng);
}

TEST_CASE("gpu: random fills: the CPU's Philox values for the same seed on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  check_random(1e-12);
}

TEST_CASE("gpu: unfold, fold, max pooling and conv2d on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(23);
  check_windows(rng);
}

TEST_CASE("gpu: softmax and log_softmax along every dim on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(24);
  check_softmax(rng);
}

TEST_CASE("gpu: a small CNN's loss and gradients on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(25);
  check_cnn_gradients(rng);
}

TEST_CASE("gpu: cross_entropy through the fused kernels on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(26);
  check_cross_entropy(rng);
}

TEST_CASE("gpu: layer_norm through the fused kernels on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(27);
  check_layer_norm(rng);
  check_layer_norm_many_rows(rng);
}

TEST_CASE("gpu: Adam and AdamW through the multi-tensor kernel on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(28);
  check_adam(rng);
}

TEST_CASE("gpu: GradScaler's fused unscale and inf check on cuda") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(29);
  check_grad_scaler(rng);
}

TEST_CASE("gpu: pin_memory (cudaHostAlloc), asynchronous copies, no reuse while a copy is in flight") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(30);
  check_pinned_memory(rng, /*real_gpu=*/true);
}

namespace {

// out, dx, dw, db of conv(x, w, b) with backward of sum(out * g), as float64 on the CPU.
std::vector<Tensor> conv_results(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& conv,
                                 const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& g) {
  Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_(), b = b0.detach().requires_grad_();
  const Tensor out = conv(x, w, b);
  out.mul(g.to(out.dtype()).to(out.device())).sum().backward();
  std::vector<Tensor> r{out.detach(), x.grad(), w.grad(), b.grad()};
  for (Tensor& t : r) t = t.to(Device::cpu()).to(kFloat64);
  return r;
}

// Largest |a - b| over the largest |b|: one relative error per result.
double relative_error(const Tensor& a, const Tensor& b) {
  const double scale = std::max(b.abs().max().item<double>(), 1e-30);
  return a.sub(b).abs().max().item<double>() / scale;
}

}  // namespace

TEST_CASE("gpu: convolutions on cuDNN match the CPU in every float dtype (values and gradients)") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::string why;
  REQUIRE_MESSAGE(cuda::cudnn_ready(0, &why), "cuDNN: " << why);
  std::mt19937 rng(31);
  struct Case {
    Shape x, w, stride, padding, dilation;
    int64_t groups;
  };
  const std::vector<Case> cases = {
      {{4, 6, 33}, {8, 3, 5}, {2}, {2}, {1}, 2},                      // conv1d, grouped
      {{8, 32, 28, 28}, {64, 32, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1},   // a CNN layer
      {{2, 16, 15, 17}, {16, 1, 3, 3}, {2, 1}, {1, 2}, {1, 2}, 16},   // depthwise, strided, dilated
      {{3, 12, 9, 9}, {24, 12, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1},     // pointwise
      {{2, 4, 6, 7, 5}, {6, 4, 3, 3, 2}, {1, 2, 1}, {1, 1, 0}, {1, 1, 1}, 1},  // conv3d
  };
  const auto conv_of = [](const Case& c) {
    return [c](const Tensor& x, const Tensor& w, const Tensor& b) {
      const nn::ConvPadding pad(c.padding);
      if (c.x.size() == 3) return nn::functional::conv1d(x, w, b, c.stride, pad, c.dilation, c.groups);
      if (c.x.size() == 4) return nn::functional::conv2d(x, w, b, c.stride, pad, c.dilation, c.groups);
      return nn::functional::conv3d(x, w, b, c.stride, pad, c.dilation, c.groups);
    };
  };
  for (DType dtype : {kFloat64, kFloat32, kFloat16, kBFloat16}) {
    // Relative to the largest value: float32 sums thousands of products (and cuDNN may pick
    // Winograd or FFT); 16-bit rounds the output.
    const double tol = dtype == kFloat64 ? 1e-12 : dtype == kFloat32 ? 1e-4 : dtype == kFloat16 ? 4e-3 : 3e-2;
    for (const Case& c : cases) {
      INFO(dtype, " x ", shape_str(c.x), " w ", shape_str(c.w));
      const auto conv = conv_of(c);
      // Inputs rounded to dtype first, so the float64 CPU reference sees the same numbers.
      const Tensor x = random_tensor(c.x, kFloat64, rng, Layout::Contiguous, -1, 1).to(dtype).to(kFloat64);
      const Tensor w = random_tensor(c.w, kFloat64, rng, Layout::Contiguous, -1, 1).to(dtype).to(kFloat64);
      const Tensor b = random_tensor({c.w[0]}, kFloat64, rng, Layout::Contiguous, -1, 1).to(dtype).to(kFloat64);
      const Tensor probe = conv(x, w, b);
      const Tensor g = random_tensor(probe.sizes(), kFloat64, rng, Layout::Contiguous, -1, 1).to(dtype).to(kFloat64);
      const auto expected = conv_results(conv, x, w, b, g);
      const Tensor xd = x.to(dtype).to(kDev), wd = w.to(dtype).to(kDev), bd = b.to(dtype).to(kDev);
      ConvWindow window{{c.w.begin() + 2, c.w.end()}, c.dilation, c.padding, c.stride,
                        {probe.sizes().begin() + 2, probe.sizes().end()}, c.groups};
      CHECK(has_fused_conv(xd, wd, window));
      const auto got = conv_results(conv, xd, wd, bd, g);
      for (size_t i = 0; i < got.size(); ++i) {
        INFO("result ", i, " (out, dx, dw, db)");
        CHECK(got[i].sizes() == expected[i].sizes());
        CHECK(relative_error(got[i], expected[i]) <= tol);
      }
    }
  }
}

TEST_CASE("gpu: cuDNN convolutions: deterministic repeats bit for bit, benchmark and the composed path agree") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(32);
  const Tensor x = random_tensor({16, 32, 24, 24}, kFloat32, rng, Layout::Contiguous, -1, 1).to(kDev);
  const Tensor w = random_tensor({64, 32, 3, 3}, kFloat32, rng, Layout::Contiguous, -1, 1).to(kDev);
  const Tensor b = random_tensor({64}, kFloat32, rng, Layout::Contiguous, -1, 1).to(kDev);
  const auto conv = [](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
    return nn::functional::conv2d(xi, wi, bi, 1, 1);
  };
  const Tensor g = random_tensor({16, 64, 24, 24}, kFloat32, rng, Layout::Contiguous, -1, 1);
  const auto heuristic = conv_results(conv, x, w, b, g);
  use_deterministic_algorithms(true);
  const auto first = conv_results(conv, x, w, b, g), second = conv_results(conv, x, w, b, g);
  for (size_t i = 0; i < first.size(); ++i) {
    INFO("result ", i);
    CHECK(first[i].sub(second[i]).abs().max().item<double>() == 0.0);
    CHECK(relative_error(first[i], heuristic[i]) <= 1e-4);
  }
  use_deterministic_algorithms(false);
  set_cudnn_benchmark(true);
  const auto timed = conv_results(conv, x, w, b, g);
  set_cudnn_benchmark(false);
  set_cudnn_enabled(false);
  const auto composed = conv_results(conv, x, w, b, g);
  set_cudnn_enabled(true);
  for (size_t i = 0; i < timed.size(); ++i) {
    INFO("result ", i);
    CHECK(relative_error(timed[i], heuristic[i]) <= 1e-4);
    CHECK(relative_error(composed[i], heuristic[i]) <= 1e-4);
  }
}

TEST_CASE("gpu: training-mode batch norm on cuDNN matches the CPU (outputs, gradients, running statistics)") {
  FULGUR_SKIP_WITHOUT_GPU();
  require_real_gpu();
  std::mt19937 rng(33);
  for (DType dtype : {kFloat64, kFloat32, kFloat16, kBFloat16}) {
    const DType stats = dtype == kFloat64 ? kFloat64 : kFloat32;
    const double tol = dtype == kFloat64 ? 1e-10 : dtype == kFloat32 ? 1e-4 : dtype == kFloat16 ? 4e-3 : 3e-2;
    for (const Shape& shape : {Shape{64, 16}, Shape{8, 32, 14, 14}, Shape{4, 8, 5, 6, 7}}) {
      INFO(dtype, " ", shape_str(shape));
      const int64_t C = shape[1];
      const auto r = [&](IntArrayRef s, double lo, double hi) {
        return random_tensor(s, kFloat64, rng, Layout::Contiguous, lo, hi);
      };
      const Tensor x = r(shape, -2, 3).to(dtype).to(kFloat64), g = r(shape, -1, 1).to(dtype).to(kFloat64);
      const Tensor w = r({C}, -1, 1), b = r({C}, -1, 1), rm = r({C}, -1, 1), rv = r({C}, 0.5, 2);
      // CPU float64 reference (the composed path).
      Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
      Tensor rmc = rm.clone(), rvc = rv.clone();
      const Tensor yc = nn::functional::batch_norm(xc, rmc, rvc, wc, bc, true, 0.1, 1e-5);
      yc.mul(g).sum().backward();
      // cuda: data in dtype, statistics and parameters in float32 (float64 for float64).
      Tensor xd = x.to(dtype).to(kDev).requires_grad_();
      Tensor wd = w.to(stats).to(kDev).requires_grad_(), bd = b.to(stats).to(kDev).requires_grad_();
      Tensor rmd = rm.to(stats).to(kDev), rvd = rv.to(stats).to(kDev);
      CHECK(has_fused_batch_norm(xd, rmd, rvd, wd, bd));
      const Tensor yd = nn::functional::batch_norm(xd, rmd, rvd, wd, bd, true, 0.1, 1e-5);
      CHECK(yd.dtype() == dtype);
      yd.mul(g.to(dtype).to(kDev)).sum().backward();
      const auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(kFloat64); };
      CHECK(relative_error(host(yd), yc) <= tol);
      CHECK(relative_error(host(xd.grad()), xc.grad()) <= tol);
      CHECK(relative_error(host(wd.grad()), wc.grad()) <= tol);
      CHECK(relative_error(host(bd.grad()), bc.grad()) <= tol);
      CHECK(relative_error(host(rmd), rmc) <= tol);
      CHECK(relative_error(host(rvd), rvc) <= tol);
    }
  }
}
