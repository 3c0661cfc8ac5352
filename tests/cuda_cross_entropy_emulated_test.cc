// The fused CUDA cross-entropy (kernels/cuda/cross_entropy.cuh) through the SIMT emulator:
// against a double-precision reference of PyTorch's definition and against the CPU
// nn::functional::cross_entropy (forward value and gradient), for warp- and block-per-row
// shapes, with and without class weights, ignore_index and label smoothing.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "fulgur/kernels/cuda/cross_entropy.h"
#include "fulgur/nn/functional/loss.h"
#include "fulgur/tests/test_util.h"
#include "tests/cuda_reference.h"

using fulgur::cuda::CrossEntropyArgs;
using fulgur::cuda::Exec;
using fulgur::testing::compare;

namespace {

struct Case {
  int64_t rows, classes;
  bool weighted;
  double smoothing;
};

std::vector<int64_t> random_targets(int64_t rows, int64_t classes, std::mt19937& rng, bool with_ignored) {
  std::uniform_int_distribution<int64_t> cls(0, classes - 1);
  std::vector<int64_t> t(static_cast<size_t>(rows));
  for (size_t i = 0; i < t.size(); ++i) t[i] = with_ignored && i % 3 == 1 ? -100 : cls(rng);
  return t;
}

}  // namespace

TEST_CASE("cuda cross_entropy (emulated): per-row loss, lse and gradient against the reference") {
  std::mt19937 rng(5);
  const Case cases[] = {{1, 1, false, 0.0},   {5, 3, false, 0.0},  {6, 10, true, 0.1},  {9, 33, false, 0.2},
                        {4, 1000, true, 0.0}, {3, 1024, true, 0.3}, {2, 1025, false, 0.0}, {3, 3000, true, 0.15},
                        {2, 5000, true, 0.1},  {3, 4099, false, 0.05}};
  for (const Case& k : cases) {
    CAPTURE(k.rows);
    CAPTURE(k.classes);
    CAPTURE(k.weighted);
    CAPTURE(k.smoothing);
    const auto x = fulgur::testing::random_floats(static_cast<size_t>(k.rows * k.classes), rng, -6.0f, 6.0f);
    const auto target = random_targets(k.rows, k.classes, rng, k.rows > 2);
    const auto weight = k.weighted ? fulgur::testing::random_floats(static_cast<size_t>(k.classes), rng, 0.1f, 2.0f)
                                   : std::vector<float>{};
    const auto grad = fulgur::testing::random_floats(static_cast<size_t>(k.rows), rng, 0.5f, 1.5f);
    const std::vector<double> grad_d(grad.begin(), grad.end());
    const auto ref = fulgur::testing::cross_entropy_reference(x, target, weight, k.rows, k.classes, -100, k.smoothing,
                                                              grad_d);
    CrossEntropyArgs a;
    a.logits = x.data();
    a.target = target.data();
    a.weight = k.weighted ? weight.data() : nullptr;
    a.rows = k.rows;
    a.classes = k.classes;
    a.label_smoothing = static_cast<float>(k.smoothing);
    int bad = 0;
    a.bad_target = &bad;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> loss(static_cast<size_t>(k.rows), nan), lse(loss), row_weight(loss);
    fulgur::cuda::cross_entropy_forward<Exec::Emulated>(a, loss.data(), lse.data(), row_weight.data(), nullptr);
    CHECK(bad == 0);
    CHECK(compare(loss, ref.loss, 2e-5, 2e-5) == "");
    CHECK(compare(row_weight, ref.row_weight, 0, 0) == "");
    std::vector<float> dx(x.size(), nan);
    fulgur::cuda::cross_entropy_backward<Exec::Emulated>(a, lse.data(), grad.data(), dx.data(), nullptr);
    CHECK(compare(dx, ref.dlogits, 1e-4, 1e-6) == "");
  }
}

TEST_CASE("cuda cross_entropy (emulated): mean reduction and gradient equal the CPU nn::functional::cross_entropy") {
  namespace F = fulgur::nn::functional;
  std::mt19937 rng(9);
  for (int64_t classes : {17, 2000}) {
    CAPTURE(classes);
    const int64_t rows = 7;
    const auto x = fulgur::testing::random_floats(static_cast<size_t>(rows * classes), rng);
    const auto target = random_targets(rows, classes, rng, true);
    const auto weight = fulgur::testing::random_floats(static_cast<size_t>(classes), rng, 0.1f, 2.0f);
    CrossEntropyArgs a;
    a.logits = x.data();
    a.target = target.data();
    a.weight = weight.data();
    a.rows = rows;
    a.classes = classes;
    a.label_smoothing = 0.1f;
    std::vector<float> loss(static_cast<size_t>(rows)), lse(loss), row_weight(loss);
    fulgur::cuda::cross_entropy_forward<Exec::Emulated>(a, loss.data(), lse.data(), row_weight.data(), nullptr);
    float loss_sum = 0, weight_sum = 0;
    fulgur::cuda::deterministic_sum<Exec::Emulated>(loss.data(), rows, &loss_sum, nullptr);
    fulgur::cuda::deterministic_sum<Exec::Emulated>(row_weight.data(), rows, &weight_sum, nullptr);
    const float mean = loss_sum / weight_sum;
    std::vector<float> grad_rows(static_cast<size_t>(rows), 1.0f / weight_sum), dx(x.size());
    fulgur::cuda::cross_entropy_backward<Exec::Emulated>(a, lse.data(), grad_rows.data(), dx.data(), nullptr);

    fulgur::Tensor logits = fulgur::from_vector(x, fulgur::Shape{rows, classes}).requires_grad_(true);
    const fulgur::Tensor cpu = F::cross_entropy(logits, fulgur::from_vector(target, fulgur::Shape{rows}),
                                                {.weight = fulgur::from_vector(weight, fulgur::Shape{classes}),
                                                 .label_smoothing = 0.1});
    cpu.backward();
    CHECK(mean == doctest::Approx(fulgur::testing::values(cpu)[0]).epsilon(1e-5));
    CHECK(compare(dx, fulgur::testing::values(logits.grad()), 1e-4, 1e-7) == "");
  }
}

TEST_CASE("cuda cross_entropy (emulated): a target out of range is flagged, the row's loss is NaN") {
  const std::vector<float> x = {0.5f, 1.0f, -1.0f, 2.0f, 0.0f, 0.0f};
  const std::vector<int64_t> target = {1, 3};
  CrossEntropyArgs a;
  a.logits = x.data();
  a.target = target.data();
  a.rows = 2;
  a.classes = 3;
  int bad = 0;
  a.bad_target = &bad;
  std::vector<float> loss(2), lse(2), w(2);
  fulgur::cuda::cross_entropy_forward<Exec::Emulated>(a, loss.data(), lse.data(), w.data(), nullptr);
  CHECK(bad == 2);
  CHECK(std::isnan(loss[1]));
  CHECK(std::isfinite(loss[0]));
  a.label_smoothing = 1.5f;
  CHECK_THROWS_AS(fulgur::cuda::cross_entropy_forward<Exec::Emulated>(a, loss.data(), lse.data(), w.data(), nullptr),
                  fulgur::Error);
}

TEST_CASE("cuda deterministic_sum (emulated): fixed order, any length") {
  std::mt19937 rng(1);
  for (int64_t n : {0, 1, 31, 1024, 5000}) {
    const auto v = fulgur::testing::random_floats(static_cast<size_t>(n), rng);
    float a = -1, b = -2;
    fulgur::cuda::deterministic_sum<Exec::Emulated>(v.data(), n, &a, nullptr);
    fulgur::cuda::deterministic_sum<Exec::Emulated>(v.data(), n, &b, nullptr);
    double expect = 0;
    for (float f : v) expect += f;
    CHECK(a == b);  // bit-identical on repeat
    CHECK(a == doctest::Approx(expect).epsilon(1e-5).scale(1.0));
  }
}
