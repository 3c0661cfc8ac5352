// Softmax, fused cross-entropy and LayerNorm on a real GPU: the same shapes as the emulated
// tests plus large ones, against the double-precision reference (LayerNorm: against its
// emulated build, itself checked against the CPU autograd); outputs are poisoned (NaN) first so an
// element the kernel did not write fails.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "fulgur/kernels/cuda/runtime.h"
#include "tests/gpu/skip_without_gpu.h"
#include "tests/cuda_reference.h"
#if FULGUR_WITH_CUDA
#include "fulgur/kernels/cuda/cross_entropy.h"
#include "fulgur/kernels/cuda/device_buffer.h"
#include "fulgur/kernels/cuda/layer_norm.h"
#include "fulgur/kernels/cuda/softmax.h"
#endif

#if FULGUR_WITH_CUDA
using fulgur::cuda::DeviceBuffer;
using fulgur::cuda::Exec;
using fulgur::testing::compare;
#endif

#if FULGUR_WITH_CUDA
namespace {

// Softmax forward, then backward from its output, on the device against the float64
// reference; outputs poisoned first. blocks = 0: the launcher's choice of kernel; else the
// cluster kernels with that many blocks per row.
void check_softmax(int64_t rows, int64_t cols, bool log, int64_t blocks, bool backward, std::mt19937& rng) {
  const auto n = static_cast<size_t>(rows * cols);
  const auto x = fulgur::testing::random_floats(n, rng, -8.0f, 8.0f);
  const auto dy = fulgur::testing::random_floats(n, rng, -1.0f, 1.0f);
  auto x_dev = DeviceBuffer::from(x), dy_dev = DeviceBuffer::from(dy);
  DeviceBuffer y_dev(n * sizeof(float)), dx_dev(n * sizeof(float));
  y_dev.fill_bytes(0xFF);
  dx_dev.fill_bytes(0xFF);
  if (blocks == 0) {
    fulgur::cuda::softmax_forward<Exec::Gpu>(x_dev.as<float>(), y_dev.as<float>(), rows, cols, log, nullptr);
  } else {
    fulgur::cuda::softmax_forward_in_clusters<Exec::Gpu>(x_dev.as<float>(), y_dev.as<float>(), rows, cols, log, blocks,
                                                         nullptr);
  }
  fulgur::cuda::synchronize("softmax forward");
  const auto y = y_dev.to_host<float>();
  CHECK(compare(y, fulgur::testing::softmax_reference(x, rows, cols, log), 2e-5, 1e-6) == "");
  if (!backward) return;
  if (blocks == 0) {
    fulgur::cuda::softmax_backward<Exec::Gpu>(y_dev.as<float>(), dy_dev.as<float>(), dx_dev.as<float>(), rows, cols,
                                              log, nullptr);
  } else {
    fulgur::cuda::softmax_backward_in_clusters<Exec::Gpu>(y_dev.as<float>(), dy_dev.as<float>(), dx_dev.as<float>(),
                                                          rows, cols, log, blocks, nullptr);
  }
  fulgur::cuda::synchronize("softmax backward");
  CHECK(compare(dx_dev.to_host<float>(), fulgur::testing::softmax_backward_reference(y, dy, rows, cols, log), 1e-4,
                1e-5) == "");
}

}  // namespace
#endif

TEST_CASE("gpu softmax: forward and backward against the reference") {
  FULGUR_SKIP_WITHOUT_GPU();
#if FULGUR_WITH_CUDA
  std::mt19937 rng(21);
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1},    {3, 5},     {5, 32},   {4, 33},    {7, 1000},
                                                {2, 1024}, {3, 1025},  {64, 4096}, {5, 4099}, {4096, 128},
                                                {8, 32768}, {2, 131072}, {64, 20000}, {128, 32772},
                                                {64, 65540}, {64, 131072}};
  for (const auto& [rows, cols] : shapes) {
    for (bool log : {false, true}) {
      CAPTURE(rows);
      CAPTURE(cols);
      CAPTURE(log);
      CAPTURE(fulgur::cuda::softmax_kernel_name(rows, cols, false,
                                                fulgur::cuda::softmax_cluster_kernels_run<Exec::Gpu>()));
      check_softmax(rows, cols, log, 0, true, rng);
    }
  }
#endif
}

// The shapes above take clusters where softmax_row_cluster says so (64 x 20000 backward in 4
// blocks, 128 x 32772 forward in 4 and backward in 8, 64 x 131072 in 8 with 128 KiB chunks),
// unless the device cannot launch them; forcing every cluster size proves that it can.
TEST_CASE("gpu softmax: the cluster kernels at every cluster size") {
  FULGUR_SKIP_WITHOUT_GPU();
#if FULGUR_WITH_CUDA
  std::mt19937 rng(29);
  for (const int64_t cols : {36, 4100, 65536}) {
    for (const int64_t blocks : {1, 2, 4, 8}) {
      if (cols == 65536 && blocks == 1) continue;  // a 256 KiB chunk: refused
      for (bool log : {false, true}) {
        CAPTURE(cols);
        CAPTURE(blocks);
        CAPTURE(log);
        // Backward stages y and dy: 65536 columns need 4 blocks or more.
        check_softmax(5, cols, log, blocks, !(cols == 65536 && blocks == 2), rng);
      }
    }
  }
#endif
}

TEST_CASE("gpu cross_entropy: loss, lse, gradient and the deterministic sum against the reference") {
  FULGUR_SKIP_WITHOUT_GPU();
#if FULGUR_WITH_CUDA
  std::mt19937 rng(23);
  struct Case {
    int64_t rows, classes;
    bool weighted;
    float smoothing;
  };
  const Case cases[] = {{1, 1, false, 0.0f},   {6, 10, true, 0.1f},      {9, 33, false, 0.2f},
                        {300, 1000, true, 0.0f}, {64, 1024, true, 0.3f}, {50, 1025, false, 0.0f},
                        {16, 32768, true, 0.1f}, {4096, 10, false, 0.0f}};
  for (const Case& k : cases) {
    CAPTURE(k.rows);
    CAPTURE(k.classes);
    const auto x = fulgur::testing::random_floats(static_cast<size_t>(k.rows * k.classes), rng, -6.0f, 6.0f);
    std::uniform_int_distribution<int64_t> cls(0, k.classes - 1);
    std::vector<int64_t> target(static_cast<size_t>(k.rows));
    for (size_t i = 0; i < target.size(); ++i) target[i] = i % 5 == 4 ? -100 : cls(rng);
    const auto weight = k.weighted ? fulgur::testing::random_floats(static_cast<size_t>(k.classes), rng, 0.1f, 2.0f)
                                   : std::vector<float>{};
    const auto grad = fulgur::testing::random_floats(static_cast<size_t>(k.rows), rng, 0.5f, 1.5f);
    const auto ref = fulgur::testing::cross_entropy_reference(x, target, weight, k.rows, k.classes, -100, k.smoothing,
                                                              std::vector<double>(grad.begin(), grad.end()));
    auto x_dev = DeviceBuffer::from(x), t_dev = DeviceBuffer::from(target), g_dev = DeviceBuffer::from(grad);
    DeviceBuffer w_dev = k.weighted ? DeviceBuffer::from(weight) : DeviceBuffer();
    DeviceBuffer loss(static_cast<size_t>(k.rows) * 4), lse(loss.bytes()), rw(loss.bytes()), dx(x.size() * 4),
        bad(sizeof(int)), sum(sizeof(float));
    loss.fill_bytes(0xFF);
    dx.fill_bytes(0xFF);
    bad.fill_bytes(0);
    fulgur::cuda::CrossEntropyArgs a;
    a.logits = x_dev.as<float>();
    a.target = t_dev.as<int64_t>();
    a.weight = k.weighted ? w_dev.as<float>() : nullptr;
    a.rows = k.rows;
    a.classes = k.classes;
    a.label_smoothing = k.smoothing;
    a.bad_target = bad.as<int>();
    fulgur::cuda::cross_entropy_forward<Exec::Gpu>(a, loss.as<float>(), lse.as<float>(), rw.as<float>(), nullptr);
    fulgur::cuda::cross_entropy_backward<Exec::Gpu>(a, lse.as<float>(), g_dev.as<float>(), dx.as<float>(), nullptr);
    fulgur::cuda::deterministic_sum<Exec::Gpu>(loss.as<float>(), k.rows, sum.as<float>(), nullptr);
    fulgur::cuda::synchronize("cross_entropy");
    CHECK(bad.to_host<int>()[0] == 0);
    CHECK(compare(loss.to_host<float>(), ref.loss, 2e-5, 2e-5) == "");
    CHECK(compare(rw.to_host<float>(), ref.row_weight, 0, 0) == "");
    CHECK(compare(dx.to_host<float>(), ref.dlogits, 1e-4, 1e-6) == "");
    double total = 0;
    for (double l : ref.loss) total += l;
    CHECK(sum.to_host<float>()[0] == doctest::Approx(total).epsilon(1e-5));
  }
#endif
}

TEST_CASE("gpu layer_norm: forward and backward agree with the emulated kernels") {
  FULGUR_SKIP_WITHOUT_GPU();
#if FULGUR_WITH_CUDA
  std::mt19937 rng(29);
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {33, 40}, {70, 64}, {3, 1500}, {512, 1024}, {256, 4096}, {64, 8192}};
  for (const auto& [rows, cols] : shapes) {
    CAPTURE(rows);
    CAPTURE(cols);
    const auto n = static_cast<size_t>(rows * cols);
    const auto x = fulgur::testing::random_floats(n, rng, -3.0f, 5.0f);
    const auto dy = fulgur::testing::random_floats(n, rng, -1.0f, 1.0f);
    const auto gamma = fulgur::testing::random_floats(static_cast<size_t>(cols), rng, 0.5f, 1.5f);
    const auto beta = fulgur::testing::random_floats(static_cast<size_t>(cols), rng, -0.5f, 0.5f);
    const auto ws_n = static_cast<size_t>(fulgur::cuda::layer_norm_workspace_floats(rows, cols));
    std::vector<float> y(n), mean(static_cast<size_t>(rows)), rstd(mean), dx(n), dg(static_cast<size_t>(cols)), db(dg),
        ws(ws_n);
    fulgur::cuda::layer_norm_forward<Exec::Emulated>(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                                                     rstd.data(), rows, cols, 1e-5f, nullptr);
    fulgur::cuda::layer_norm_backward<Exec::Emulated>(x.data(), dy.data(), gamma.data(), mean.data(), rstd.data(),
                                                      dx.data(), dg.data(), db.data(), ws.data(), rows, cols, nullptr);
    auto X = DeviceBuffer::from(x), DY = DeviceBuffer::from(dy), G = DeviceBuffer::from(gamma),
         B = DeviceBuffer::from(beta);
    DeviceBuffer Y(n * 4), M(static_cast<size_t>(rows) * 4), R(M.bytes()), DX(n * 4), DG(static_cast<size_t>(cols) * 4),
        DB(DG.bytes()), WS(ws_n * 4);
    Y.fill_bytes(0xFF);
    DX.fill_bytes(0xFF);
    DG.fill_bytes(0xFF);
    fulgur::cuda::layer_norm_forward<Exec::Gpu>(X.as<float>(), G.as<float>(), B.as<float>(), Y.as<float>(),
                                                M.as<float>(), R.as<float>(), rows, cols, 1e-5f, nullptr);
    fulgur::cuda::layer_norm_backward<Exec::Gpu>(X.as<float>(), DY.as<float>(), G.as<float>(), M.as<float>(),
                                                 R.as<float>(), DX.as<float>(), DG.as<float>(), DB.as<float>(),
                                                 WS.as<float>(), rows, cols, nullptr);
    fulgur::cuda::synchronize("layer_norm");
    CHECK(compare(Y.to_host<float>(), y, 1e-5, 1e-5) == "");
    CHECK(compare(DX.to_host<float>(), dx, 1e-4, 1e-4) == "");
    CHECK(compare(DG.to_host<float>(), dg, 1e-4, 1e-4) == "");
    CHECK(compare(DB.to_host<float>(), db, 1e-5, 1e-5) == "");
  }
#endif
}
