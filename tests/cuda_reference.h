// Double-precision references for the CUDA kernels, shared by the emulated tests (tests/) and
// the GPU tests (tests/gpu). Plain loops over row-major data; no fulgur dependency, so GPU test
// binaries stay small.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace fulgur::testing {

inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -4.0f, float hi = 4.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Row-wise softmax / log_softmax of a rows x cols matrix, computed in double.
inline std::vector<double> softmax_reference(const std::vector<float>& x, int64_t rows, int64_t cols, bool log) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x.data() + r * cols;
    double m = -std::numeric_limits<double>::infinity();
    bool nan = false;
    for (int64_t c = 0; c < cols; ++c) {
      nan |= std::isnan(in[c]);
      m = std::max(m, static_cast<double>(in[c]));
    }
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += std::exp(in[c] - m);
    for (int64_t c = 0; c < cols; ++c) {
      double v = log ? (in[c] - m) - std::log(s) : std::exp(in[c] - m) / s;
      if (nan || std::isinf(m)) v = std::numeric_limits<double>::quiet_NaN();
      y[static_cast<size_t>(r * cols + c)] = v;
    }
  }
  return y;
}

inline std::vector<double> softmax_backward_reference(const std::vector<float>& y, const std::vector<float>& dy,
                                                      int64_t rows, int64_t cols, bool log) {
  std::vector<double> dx(y.size());
  for (int64_t r = 0; r < rows; ++r) {
    const size_t base = static_cast<size_t>(r * cols);
    double dot = 0;
    for (int64_t c = 0; c < cols; ++c) dot += log ? dy[base + c] : double{dy[base + c]} * y[base + c];
    for (int64_t c = 0; c < cols; ++c) {
      dx[base + c] = log ? dy[base + c] - std::exp(double{y[base + c]}) * dot : y[base + c] * (dy[base + c] - dot);
    }
  }
  return dx;
}

// Cross-entropy per row as PyTorch defines it (weights, ignore_index, label smoothing), and the
// weight of each row's target (0 for ignored rows): mean reduction = sum(loss) / sum(weight).
struct CrossEntropyReference {
  std::vector<double> loss, row_weight, dlogits;
};

inline CrossEntropyReference cross_entropy_reference(const std::vector<float>& x, const std::vector<int64_t>& target,
                                                     const std::vector<float>& weight, int64_t rows, int64_t classes,
                                                     int64_t ignore_index, double smoothing,
                                                     const std::vector<double>& grad_rows) {
  CrossEntropyReference out;
  out.loss.assign(static_cast<size_t>(rows), 0.0);
  out.row_weight.assign(static_cast<size_t>(rows), 0.0);
  out.dlogits.assign(x.size(), 0.0);
  auto w = [&](int64_t c) { return weight.empty() ? 1.0 : double{weight[static_cast<size_t>(c)]}; };
  double w_total = 0;
  for (int64_t c = 0; c < classes; ++c) w_total += w(c);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = target[static_cast<size_t>(r)];
    if (t == ignore_index) continue;
    const float* in = x.data() + r * classes;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < classes; ++c) m = std::max(m, double{in[c]});
    double s = 0;
    for (int64_t c = 0; c < classes; ++c) s += std::exp(in[c] - m);
    const double lse = m + std::log(s);
    double smooth = 0;
    for (int64_t c = 0; c < classes; ++c) smooth += w(c) * (lse - in[c]);
    out.loss[static_cast<size_t>(r)] =
        (1 - smoothing) * w(t) * (lse - in[t]) + smoothing / static_cast<double>(classes) * smooth;
    out.row_weight[static_cast<size_t>(r)] = w(t);
    const double g = grad_rows.empty() ? 1.0 : grad_rows[static_cast<size_t>(r)];
    for (int64_t c = 0; c < classes; ++c) {
      const double p = std::exp(in[c] - lse);
      const double d = (1 - smoothing) * w(t) * (p - (c == t ? 1.0 : 0.0)) +
                       smoothing / static_cast<double>(classes) * (p * w_total - w(c));
      out.dlogits[static_cast<size_t>(r * classes + c)] = g * d;
    }
  }
  return out;
}

// Largest |a - b| / (atol/rtol + rtol * |b|) over the elements; NaN must match NaN. Returns a
// description of the first failure, or "" when every element is within tolerance.
template <typename A, typename B>
std::string compare(const std::vector<A>& actual, const std::vector<B>& expected, double rtol, double atol) {
  if (actual.size() != expected.size()) return "sizes differ";
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]), e = static_cast<double>(expected[i]);
    if (std::isnan(e) || std::isnan(a)) {
      if (std::isnan(e) != std::isnan(a)) return "element " + std::to_string(i) + ": " + std::to_string(a) + " vs " + std::to_string(e);
      continue;
    }
    if (std::abs(a - e) > atol + rtol * std::abs(e)) {
      return "element " + std::to_string(i) + ": " + std::to_string(a) + " vs " + std::to_string(e);
    }
  }
  return "";
}

}  // namespace fulgur::testing
