// The CUDA backend's float/double GEMM (kernels/cuda/tensor_gemm.cuh) through the SIMT
// emulator, against a long-double reference computed here: sizes that are not multiples of
// the 64 x 64 tile or the 16-deep k-slice, 1-row / 1-column / k = 0 problems, transposed
// (column-major) operands, batches with byte offsets, alpha and beta (beta 0 ignoring NaN in C).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/tensor_gemm.h"
#include "fulgur/kernels/error.h"

using fulgur::cuda::Exec;

namespace {

struct Problem {
  int64_t m, n, k, batch;
  bool a_transposed, b_transposed;
  double alpha, beta;
};

// Runs one problem in T; returns the largest error relative to sum_k |a||b| (the scale of
// the rounding error of a k-term dot product).
template <typename T>
double max_scaled_error(const Problem& p, std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  const int64_t a_size = p.m * p.k, b_size = p.k * p.n, c_size = p.m * p.n;
  std::vector<T> a(static_cast<size_t>(a_size * p.batch)), b(static_cast<size_t>(b_size * p.batch));
  std::vector<T> c(static_cast<size_t>(c_size * p.batch));
  for (auto& v : a) v = static_cast<T>(dist(rng));
  for (auto& v : b) v = static_cast<T>(dist(rng));
  for (auto& v : c) v = p.beta == 0 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(dist(rng));
  const std::vector<T> c_before = c;
  // Element strides: row-major, or the transpose stored column-major.
  const int64_t a_rs = p.a_transposed ? 1 : p.k, a_cs = p.a_transposed ? p.m : 1;
  const int64_t b_rs = p.b_transposed ? 1 : p.n, b_cs = p.b_transposed ? p.k : 1;
  std::vector<int64_t> a_off, b_off, c_off;
  for (int64_t i = 0; i < p.batch; ++i) {
    a_off.push_back(i * a_size * static_cast<int64_t>(sizeof(T)));
    b_off.push_back(i * b_size * static_cast<int64_t>(sizeof(T)));
    c_off.push_back(i * c_size * static_cast<int64_t>(sizeof(T)));
  }
  fulgur::kernels::GemmArgs g;
  g.dtype = sizeof(T) == 4 ? fulgur::DType::Float32 : fulgur::DType::Float64;
  g.m = p.m, g.n = p.n, g.k = p.k, g.batch = p.batch;
  g.a = reinterpret_cast<const char*>(a.data()), g.a_rs = a_rs, g.a_cs = a_cs;
  g.b = reinterpret_cast<const char*>(b.data()), g.b_rs = b_rs, g.b_cs = b_cs;
  g.c = reinterpret_cast<char*>(c.data()), g.c_rs = p.n;
  g.alpha = p.alpha, g.beta = p.beta;
  g.a_offsets = a_off.data(), g.b_offsets = b_off.data(), g.c_offsets = c_off.data();
  fulgur::cuda::tensor_gemm<Exec::Emulated>(g, nullptr);

  double worst = 0;
  for (int64_t bi = 0; bi < p.batch; ++bi) {
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        long double dot = 0, scale = 0;
        for (int64_t q = 0; q < p.k; ++q) {
          const long double x = a[static_cast<size_t>(bi * a_size + i * a_rs + q * a_cs)];
          const long double y = b[static_cast<size_t>(bi * b_size + q * b_rs + j * b_cs)];
          dot += x * y;
          scale += std::fabs(x * y);
        }
        const size_t at = static_cast<size_t>(bi * c_size + i * p.n + j);
        long double want = p.alpha * dot;
        if (p.beta != 0) want += p.beta * static_cast<long double>(c_before[at]);
        const double got = static_cast<double>(c[at]);
        if (!std::isfinite(got)) return std::numeric_limits<double>::infinity();
        const long double denom = std::fabs(p.alpha) * scale + std::fabs(p.beta) + 1e-30L;
        worst = std::max(worst, static_cast<double>(std::fabs(got - want) / denom));
      }
    }
  }
  return worst;
}

const Problem kProblems[] = {
    {64, 64, 64, 1, false, false, 1.0, 0.0},   // one full tile
    {70, 130, 33, 1, false, false, 1.0, 0.0},  // edges in m, n and k
    {1, 97, 40, 1, false, false, 1.0, 0.0},    // one row
    {97, 1, 40, 1, false, false, 1.0, 0.0},    // one column
    {5, 7, 0, 1, false, false, 1.0, 0.0},      // k = 0: C = 0 (beta 0 drops the NaN)
    {33, 65, 17, 1, true, false, 1.0, 0.0},    // A transposed
    {33, 65, 17, 1, false, true, 1.0, 0.0},    // B transposed
    {40, 20, 50, 1, true, true, -0.5, 2.0},    // both, alpha and beta
    {17, 19, 23, 3, false, false, 1.0, 1.0},   // a batch with offsets, accumulate into C
};

}  // namespace

TEST_CASE("cuda tensor GEMM (emulated): float32 and float64 against a long-double reference") {
  std::mt19937 rng(5);
  for (const Problem& p : kProblems) {
    CAPTURE(p.m);
    CAPTURE(p.n);
    CAPTURE(p.k);
    CAPTURE(p.batch);
    CAPTURE(p.a_transposed);
    CAPTURE(p.b_transposed);
    // A k-term dot product in precision u errs by at most about k u sum |a b| (k <= 130 here).
    CHECK(max_scaled_error<float>(p, rng) <= 130 * 6e-8);
    CHECK(max_scaled_error<double>(p, rng) <= 130 * 1.2e-16);
  }
}

TEST_CASE("cuda tensor GEMM (emulated): other dtypes and bad sizes are errors, empty problems no-ops") {
  fulgur::kernels::GemmArgs g;
  g.dtype = fulgur::DType::Int64;
  g.m = g.n = g.k = 2;
  std::vector<int64_t> buf(4);
  g.a = g.b = reinterpret_cast<const char*>(buf.data());
  g.c = reinterpret_cast<char*>(buf.data());
  g.a_rs = g.b_rs = g.c_rs = 2;
  g.a_cs = g.b_cs = 1;
  try {
    fulgur::cuda::tensor_gemm<Exec::Emulated>(g, nullptr);
    FAIL("int64 accepted");
  } catch (const fulgur::Error& e) {
    CHECK(std::string(e.what()).find("dtype int64") != std::string::npos);
  }
  g.dtype = fulgur::DType::Float32;
  g.m = -1;
  CHECK_THROWS_AS(fulgur::cuda::tensor_gemm<Exec::Emulated>(g, nullptr), fulgur::Error);
  g.m = 0;  // nothing to do, nothing written
  fulgur::cuda::tensor_gemm<Exec::Emulated>(g, nullptr);
}
