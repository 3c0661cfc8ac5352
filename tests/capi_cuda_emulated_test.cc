// CUDA pointers through the C ABI, on the emulated CUDA device (kernels/cuda/emulated_device.h:
// device memory is host memory and the CUDA kernel sources run through the SIMT emulator, so
// this runs in CI without a GPU). A model moved with fulgur_model_to trains on cuda tensors
// that wrap the caller's "device" buffers, and must match the same training on the CPU within
// float rounding (the device sums in another order). Its own binary: enabling the emulated
// device is process-wide, and tests/capi_test.cc checks the no-device answers.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fulgur/fulgur_c.h"
#include "fulgur/kernels/cuda/emulated_device.h"
#include "tests/capi_test_util.h"

namespace {

#define CHECK_OK(call) REQUIRE_MESSAGE((call) == FULGUR_OK, std::string(fulgur_last_error()))

constexpr fulgur_device kHost = {FULGUR_DEVICE_CPU, 0};
constexpr fulgur_device kCuda = {FULGUR_DEVICE_CUDA, 0};

struct Handles {
  fulgur_model* model = nullptr;
  fulgur_optimizer* opt = nullptr;
  ~Handles() {
    fulgur_optimizer_destroy(opt);
    fulgur_model_destroy(model);
  }
};

// 3 -> 8 -> 1 tanh MLP from seed 4, optionally moved to cuda:0 before its optimizer is made.
void build(Handles& h, bool on_cuda) {
  CHECK_OK(fulgur_model_create(4, &h.model));
  CHECK_OK(fulgur_model_add_linear(h.model, 3, 8, 1));
  CHECK_OK(fulgur_model_add_tanh(h.model));
  CHECK_OK(fulgur_model_add_linear(h.model, 8, 1, 1));
  if (on_cuda) CHECK_OK(fulgur_model_to(h.model, kCuda));
  CHECK_OK(fulgur_optimizer_sgd(h.model, 0.1, 0.9, 0.0, 0, &h.opt));
}

double step(Handles& h, fulgur_tensor* x, fulgur_tensor* y) {
  fulgur_tensor* out = nullptr;
  fulgur_tensor* loss = nullptr;
  CHECK_OK(fulgur_optimizer_zero_grad(h.opt));
  CHECK_OK(fulgur_model_forward(h.model, x, &out));
  CHECK_OK(fulgur_loss(FULGUR_LOSS_MSE, out, y, &loss));
  CHECK_OK(fulgur_tensor_backward(loss));
  CHECK_OK(fulgur_optimizer_step(h.opt));
  double v = 0;
  CHECK_OK(fulgur_tensor_item(loss, &v));
  fulgur_tensor_destroy(loss);
  fulgur_tensor_destroy(out);
  return v;
}

std::vector<float> params(const Handles& h) { return fulgur::capi_testing::all_parameter_values(h.model); }

}  // namespace

TEST_CASE("C ABI with CUDA pointers (emulated device): a model on cuda trains as on the CPU") {
  fulgur::cuda::enable_emulated_device();
  // 16 samples of y = x0 - 2 x1 + 0.5 x2. On the emulated device, device memory is host
  // memory: these vectors stand for the caller's cudaMalloc'ed buffers.
  std::vector<float> x(48), y(16);
  for (size_t i = 0; i < 16; ++i) {
    for (size_t j = 0; j < 3; ++j) x[i * 3 + j] = std::sin(0.37f * static_cast<float>(i * 3 + j));
    y[i] = x[i * 3] - 2 * x[i * 3 + 1] + 0.5f * x[i * 3 + 2];
  }
  std::vector<float> x_dev = x, y_dev = y;
  const int64_t xs[2] = {16, 3}, ys[2] = {16, 1};
  fulgur_tensor *xt = nullptr, *yt = nullptr, *xd = nullptr, *yd = nullptr;
  CHECK_OK(fulgur_tensor_from_data(x.data(), FULGUR_FLOAT32, 2, xs, nullptr, kHost, &xt));
  CHECK_OK(fulgur_tensor_from_data(y.data(), FULGUR_FLOAT32, 2, ys, nullptr, kHost, &yt));
  CHECK_OK(fulgur_tensor_from_data(x_dev.data(), FULGUR_FLOAT32, 2, xs, nullptr, kCuda, &xd));
  CHECK_OK(fulgur_tensor_from_data(y_dev.data(), FULGUR_FLOAT32, 2, ys, nullptr, kCuda, &yd));
  fulgur_device where = kHost;
  CHECK_OK(fulgur_tensor_device(xd, &where));
  CHECK(where.kind == FULGUR_DEVICE_CUDA);
  CHECK(where.index == 0);
  void* data = nullptr;
  CHECK_OK(fulgur_tensor_data(xd, &data));
  CHECK(data == x_dev.data());  // wrapped, not copied

  Handles cpu, dev;
  build(cpu, false);
  build(dev, true);
  fulgur_tensor* p0 = nullptr;
  CHECK_OK(fulgur_model_parameter(dev.model, 0, &p0));
  CHECK_OK(fulgur_tensor_device(p0, &where));
  CHECK(where.kind == FULGUR_DEVICE_CUDA);
  fulgur_tensor_destroy(p0);
  CHECK(params(cpu) == params(dev));  // moved, not changed

  double first = 0, last = 0;
  for (int k = 0; k < 20; ++k) {
    const double lc = step(cpu, xt, yt);
    last = step(dev, xd, yd);
    if (k == 0) first = last;
    CHECK(last == doctest::Approx(lc).epsilon(1e-4));
  }
  CHECK(last < 0.5 * first);
  const std::vector<float> pc = params(cpu), pd = params(dev);
  REQUIRE(pc.size() == pd.size());
  for (size_t i = 0; i < pc.size(); ++i) CHECK(pd[i] == doctest::Approx(pc[i]).epsilon(1e-4).scale(1e-3));

  // Mixing devices: a CPU model on a cuda input is an error naming both devices.
  fulgur_tensor* out = nullptr;
  CHECK(fulgur_model_forward(cpu.model, xd, &out) != FULGUR_OK);
  const std::string message = fulgur_last_error();
  CHECK_MESSAGE(message.find("cuda:0") != std::string::npos, message);
  CHECK_MESSAGE(message.find("cpu") != std::string::npos, message);
  CHECK(out == nullptr);
  // The emulated device is cuda:0 only.
  fulgur_tensor* other = nullptr;
  CHECK(fulgur_tensor_from_data(x_dev.data(), FULGUR_FLOAT32, 2, xs, nullptr, {FULGUR_DEVICE_CUDA, 1}, &other) ==
        FULGUR_INVALID_ARGUMENT);
  CHECK(std::string(fulgur_last_error()).find("cuda:1 does not exist") != std::string::npos);
  for (fulgur_tensor* t : {xt, yt, xd, yd}) fulgur_tensor_destroy(t);
}
