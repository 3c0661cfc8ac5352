// Regression metrics (MeanSquaredError, MeanAbsoluteError, R2Score) and aggregators
// (MeanMetric, SumMetric, MaxMetric, MinMetric) against torchmetrics 1.4.0:
// tests/golden/metrics_golden.inc, written by tools/gen_metrics_golden.py (see its header for
// the venv). Per case: forward() of each batch, compute() after the forwards and after
// update()s only, the cached second compute(), reset() + one update. Then nan_strategy,
// gradients through forward(), and errors with their messages.
#include "tests/metrics_test_util.h"

using namespace fulgur;
using namespace fulgur::metrics_testing;

TEST_CASE("golden: MeanSquaredError") { run_golden({"mse/", "rmse/"}); }
TEST_CASE("golden: MeanAbsoluteError") { run_golden({"mae/"}); }
TEST_CASE("golden: R2Score") { run_golden({"r2/"}); }
TEST_CASE("golden: MeanMetric") { run_golden({"mean/"}); }
TEST_CASE("golden: SumMetric, MaxMetric, MinMetric") { run_golden({"sum/", "max/", "min/"}); }

TEST_CASE("MeanMetric: weighted mean from numbers and tensors") {
  metrics::MeanMetric mean;
  mean.update(2.0, 3.0);                         // 6 / 3
  mean.update(f32({1.f, 4.f}), 0.5);              // + 2.5 / 1
  mean.update(f32({10.f}), f32({0.f}));           // weight 0: no effect
  CHECK(mean.compute().item<double>() == doctest::Approx(8.5 / 4.0));
  CHECK(mean.compute().dim() == 0);
  CHECK(mean.compute().dtype() == kFloat32);
  // Weights broadcast to the value's shape, not the other way round.
  CHECK(error_of([&] { mean.update(f32({1.f}), f32({1.f, 2.f})); }) != "(no error)");
}

TEST_CASE("nan_strategy") {
  WarningCapture w;
  metrics::SumMetric error_sum({.nan_strategy = "error"});
  CHECK(error_of([&] { error_sum.update(f32({1.f, kNaNf})); }) ==
        "SumMetric.update: Encountered `nan` values in tensor (nan_strategy='error'). Hint: nan_strategy 'warn', "
        "'ignore' or a replacement value.");
  CHECK(error_sum.update_count() == 0);

  metrics::SumMetric warn_sum;  // "warn" is the default
  warn_sum.update(f32({1.f, kNaNf, 2.f}));
  CHECK(warn_sum.compute().item<double>() == 3.0);
  REQUIRE(w.messages.size() == 1);
  CHECK(w.messages[0] == "Encountered `nan` values in tensor. Will be removed.");

  metrics::SumMetric ignore_sum({.nan_strategy = "ignore"});
  ignore_sum.update(f32({1.f, kNaNf, 2.f}));
  CHECK(ignore_sum.compute().item<double>() == 3.0);
  CHECK(w.messages.size() == 1);

  // A number replaces NaN values and their weights (our MeanMetric without a weight keeps
  // the other weights at 1; torchmetrics sets them all to the number, see the README).
  metrics::MeanMetric zero_mean({.nan_strategy = 0.0});
  zero_mean.update(f32({1.f, kNaNf, 3.f}));
  CHECK(zero_mean.compute().item<double>() == doctest::Approx(2.0));
  metrics::MeanMetric fill_mean({.nan_strategy = 2.5});
  fill_mean.update(f32({1.f, kNaNf, 3.f}));
  CHECK(fill_mean.compute().item<double>() == doctest::Approx((1 + 2.5 * 2.5 + 3) / (1 + 2.5 + 1)));
  // The caller's tensor is not modified (torchmetrics writes the replacement into it).
  Tensor v = f32({kNaNf, 1.f});
  metrics::MaxMetric fill_max({.nan_strategy = 7.0});
  fill_max.update(v);
  CHECK(fill_max.compute().item<double>() == 7.0);
  CHECK(std::isnan(v.to_vector<float>()[0]));

  CHECK(error_of([] { metrics::MinMetric({.nan_strategy = "drop"}); }) ==
        "Aggregator: Arg `nan_strategy` should either be a float or one of ('error', 'warn', 'ignore') but got "
        "'drop'.");
}

TEST_CASE("MeanSquaredError: forward is differentiable, the state keeps no graph") {
  metrics::MeanSquaredError mse;
  CHECK(mse.is_differentiable());
  Tensor p = f32({1.f, 2.f, 4.f}).requires_grad_();
  const Tensor t = f32({0.f, 2.f, 2.f});
  const Tensor batch = mse(p, t);
  CHECK(batch.item<double>() == doctest::Approx(5.0 / 3.0));
  REQUIRE(batch.requires_grad());
  batch.backward();
  const std::vector<float> g = p.grad().to_vector<float>();  // 2 (p - t) / n
  CHECK(g[0] == doctest::Approx(2.0 / 3.0));
  CHECK(g[1] == doctest::Approx(0.0));
  CHECK(g[2] == doctest::Approx(4.0 / 3.0));
  for (const auto& [name, s] : mse.metric_state()) CHECK_MESSAGE(!s.requires_grad(), name);
  // update() never records.
  mse.update(p, t);
  for (const auto& [name, s] : mse.metric_state()) CHECK_MESSAGE(!s.requires_grad(), name);
  CHECK(mse.compute().item<double>() == doctest::Approx(10.0 / 6.0));
}

TEST_CASE("regression errors") {
  metrics::MeanSquaredError mse;
  CHECK(error_of([&] { mse.update(f32({1.f, 2.f}), f32({1.f})); }) ==
        "MeanSquaredError.update: Predictions and targets are expected to have the same shape, but got [2] and [1].");
  metrics::MeanSquaredError mse2({.num_outputs = 2});
  CHECK(error_of([&] { mse2.update(zeros({4, 3}), zeros({4, 3})); }).find("(N, 2)") != std::string::npos);
  CHECK(error_of([] { metrics::MeanSquaredError({.num_outputs = 0}); }).find("positive integer") !=
        std::string::npos);

  metrics::R2Score r2;
  r2.update(f32({1.f}), f32({2.f}));
  CHECK(error_of([&] { r2.compute(); }) ==
        "R2Score.compute: Needs at least two samples to calculate r2 score (got 1).");
  CHECK(error_of([&] { r2.update(zeros({3, 2}), zeros({3, 2})); }) ==
        "R2Score.update: got 2 outputs (preds [3, 2]) but num_outputs=1. Hint: R2Score({.num_outputs = 2}).");
  CHECK(error_of([&] { r2.update(zeros({3, 2, 1}), zeros({3, 2, 1})); }).find("1D or 2D") != std::string::npos);
  CHECK(error_of([] { metrics::R2Score({.multioutput = "mean"}); }).find("`multioutput`") != std::string::npos);
  CHECK(error_of([] { metrics::R2Score({.adjusted = -1}); }).find("`adjusted`") != std::string::npos);

  metrics::MeanAbsoluteError mae;
  CHECK(error_of([&] { mae.update(f32({1.f})); }) == "MeanAbsoluteError.update: expected (preds, target), got 1 tensor");
  metrics::MeanMetric mean;
  CHECK(error_of([&] { mean.update(f32({1.f}), f32({1.f}));
                       mean.forward(f32({1.f}), f32({1.f})); }) == "(no error)");
  metrics::SumMetric sum;
  CHECK(error_of([&] { sum.update(f32({1.f}), f32({1.f})); }) ==
        "SumMetric.update: expected (value), got 2 tensors");
}
