// Shared by the metrics tests: golden cases from torchmetrics 1.4.0
// (tests/golden/metrics_golden.inc, written by tools/gen_metrics_golden.py) and the helpers
// that run a case through a metric and compare every value.
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

#include "tests/golden/metrics_golden.h"

namespace fulgur::metrics_testing {

using namespace fulgur;


// Collects metric warnings for the lifetime of the object.
struct WarningCapture {
  std::vector<std::string> messages;
  metrics::WarningHandler previous;
  WarningCapture() {
    previous = metrics::set_warning_handler([this](const std::string& m) { messages.push_back(m); });
  }
  ~WarningCapture() { metrics::set_warning_handler(previous); }
};

inline Tensor make(const metrics_golden::Tensorish& g) {
  return from_vector(g.values, Shape(g.shape)).to(g.dtype);
}

inline void check_value(const Tensor& got, const metrics_golden::Tensorish& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.defined());
  CHECK(got.dtype() == want.dtype);
  REQUIRE(got.sizes() == IntArrayRef(want.shape));
  const std::vector<double> v = got.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    const double w = want.values[i];
    INFO("element ", i, ": got ", v[i], ", want ", w);
    if (std::isnan(w)) {
      CHECK(std::isnan(v[i]));
    } else if (std::isinf(w)) {
      CHECK(v[i] == w);
    } else {
      CHECK(std::abs(v[i] - w) <= 1e-6 + 1e-5 * std::abs(w));
    }
  }
}

inline Tensor call_forward(metrics::Metric& m, const std::vector<Tensor>& b) {
  return b.size() == 1 ? m.forward(b[0]) : m.forward(b[0], b[1]);
}
inline void call_update(metrics::Metric& m, const std::vector<Tensor>& b) {
  if (b.size() == 1) {
    m.update(b[0]);
  } else {
    m.update(b[0], b[1]);
  }
}

inline void run_golden_case(const metrics_golden::Case& c) {
  INFO("case ", c.name);
  WarningCapture warnings;
  std::vector<std::vector<Tensor>> batches;
  for (const auto& b : metrics_golden::inputs()[c.input].batches) {
    std::vector<Tensor> tensors;
    for (const auto& t : b) tensors.push_back(make(t));
    batches.push_back(tensors);
  }
  // forward() per batch, then compute() over all of them.
  auto m = c.make();
  for (size_t i = 0; i < batches.size(); ++i) check_value(call_forward(*m, batches[i]), c.forward[i], "forward");
  CHECK(m->update_count() == static_cast<int64_t>(batches.size()));
  const size_t before = warnings.messages.size();
  const Tensor value = m->compute();
  check_value(value, c.compute, "compute after forward");
  CHECK(c.compute_warns == (warnings.messages.size() > before));
  CHECK(m->compute().is_same(value));  // cached
  check_value(m->forward_cache(), c.forward.back(), "forward_cache");

  // update() only.
  auto m2 = c.make();
  for (const auto& b : batches) call_update(*m2, b);
  check_value(m2->compute(), c.compute, "compute after update");
  CHECK(!m2->forward_cache().defined());

  // reset, then the first batch alone.
  m2->reset();
  CHECK(m2->update_count() == 0);
  call_update(*m2, batches[0]);
  check_value(m2->compute(), c.forward[0], "compute after reset + one update");
}

inline void run_golden(const std::vector<std::string>& prefixes) {
  int n = 0;
  for (const auto& c : metrics_golden::cases()) {
    const std::string name = c.name;
    bool match = false;
    for (const auto& p : prefixes) match = match || name.rfind(p, 0) == 0;
    if (!match || c.input < 0) continue;
    run_golden_case(c);
    ++n;
  }
  CHECK(n > 0);
}

inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline Tensor i64(std::vector<int64_t> v) { return from_vector(v); }
inline Tensor f32(std::vector<float> v) { return from_vector(v); }

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

}  // namespace fulgur::metrics_testing
