// Tensor-core benchmark: fp32 matmul through fulgur::Tensor next to raw Eigen (same thread
// count, Eigen's own parallel GEMM), and contiguous add/mul/exp/sum in GB/s next to memcpy
// and the same expression in raw Eigen. Each measurement alternates ours and the
// reference run by run and reports medians, so that machine noise hits both alike.
//
//   bazel run -c opt //bench:tensor_ops              readable table
//   bazel run -c opt //bench:tensor_ops -- --json    one JSON object per line
//   ... -- --threads=1 --quick                       fewer sizes and repetitions
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fulgur/fulgur.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_of(const std::function<void()>& fn) {
  const auto t0 = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Runs a and b alternately `reps` times after one warm-up each; returns median seconds.
std::pair<double, double> race(const std::function<void()>& a, const std::function<void()>& b, int reps) {
  a();
  b();
  std::vector<double> ta, tb;
  for (int i = 0; i < reps; ++i) {
    ta.push_back(seconds_of(a));
    tb.push_back(seconds_of(b));
  }
  return {median(ta), median(tb)};
}

struct Options {
  bool json = false;
  bool quick = false;
  std::string only;  // "matmul" or "elementwise": run one part
  int threads = 0;  // 0: OpenMP's default
};

void report_matmul(const Options& o, int64_t n, double ours, double eigen) {
  const double flops = 2.0 * static_cast<double>(n) * n * n;
  const double g = flops / ours / 1e9, ge = flops / eigen / 1e9;
  if (o.json) {
    std::printf("{\"bench\":\"matmul\",\"dtype\":\"float32\",\"n\":%lld,\"threads\":%d,\"gflops\":%.2f,"
                "\"eigen_gflops\":%.2f,\"ratio\":%.4f}\n",
                static_cast<long long>(n), fulgur::get_num_threads(), g, ge, g / ge);
  } else {
    std::printf("matmul fp32  n=%-5lld  fulgur %8.1f GFLOP/s   eigen %8.1f GFLOP/s   ratio %.3f\n",
                static_cast<long long>(n), g, ge, g / ge);
  }
}

void bench_matmul(const Options& o) {
  std::vector<int64_t> sizes = {64, 128, 256, 512, 1024, 2048};
  if (o.quick) sizes = {64, 256, 1024};
  for (int64_t n : sizes) {
    fulgur::Generator gen(n);
    const fulgur::Tensor a = fulgur::randn({n, n}, {}, &gen);
    const fulgur::Tensor b = fulgur::randn({n, n}, {}, &gen);
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const RowMajor> ea(a.data_ptr<float>(), n, n), eb(b.data_ptr<float>(), n, n);
    RowMajor ec(n, n);
    fulgur::Tensor c;
    const int reps = o.quick ? 3 : (n <= 256 ? 51 : n <= 1024 ? 11 : 5);
    // A batch of small products per timing run keeps the clock's resolution irrelevant.
    const int inner = n <= 128 ? 50 : 1;
    auto [ours, eigen] = race(
        [&] {
          for (int i = 0; i < inner; ++i) c = a.matmul(b);
        },
        [&] {
          for (int i = 0; i < inner; ++i) ec.noalias() = ea * eb;
        },
        reps);
    report_matmul(o, n, ours / inner, eigen / inner);
  }
}

void report_stream(const Options& o, const char* op, int64_t n, double gbs, double ref_gbs,
                   const char* ref_name) {
  if (o.json) {
    std::printf("{\"bench\":\"%s\",\"dtype\":\"float32\",\"numel\":%lld,\"threads\":%d,\"gbps\":%.2f,"
                "\"%s_gbps\":%.2f}\n",
                op, static_cast<long long>(n), fulgur::get_num_threads(), gbs, ref_name, ref_gbs);
  } else {
    std::printf("%-6s fp32  numel=%-9lld  fulgur %7.2f GB/s   %-7s %7.2f GB/s\n", op,
                static_cast<long long>(n), gbs, ref_name, ref_gbs);
  }
}

void bench_elementwise(const Options& o) {
  const int64_t n = o.quick ? (int64_t{1} << 22) : (int64_t{1} << 24);  // 16M floats = 64 MB
  const int reps = o.quick ? 5 : 15;
  fulgur::Generator gen(1);
  const fulgur::Tensor x = fulgur::randn({n}, {}, &gen);
  const fulgur::Tensor y = fulgur::randn({n}, {}, &gen);
  fulgur::Tensor out = fulgur::empty({n});
  std::vector<float> dst(static_cast<size_t>(n));
  const double b4 = 4.0 * static_cast<double>(n);
  using Array = Eigen::Array<float, Eigen::Dynamic, 1>;
  Eigen::Map<const Array> ex(x.data_ptr<float>(), n), ey(y.data_ptr<float>(), n);
  Eigen::Map<Array> eo(dst.data(), n);
  auto memcpy_run = [&] { std::memcpy(dst.data(), x.data_ptr<float>(), static_cast<size_t>(n) * 4); };

  // GB/s = bytes read + written per run / median seconds. memcpy moves 2 * 4n bytes.
  auto gbps = [](double bytes, double seconds) { return bytes / seconds / 1e9; };
  {
    auto [ours, copy] = race([&] { out = x.add(y); }, memcpy_run, reps);
    report_stream(o, "add", n, gbps(3 * b4, ours), gbps(2 * b4, copy), "memcpy");
    auto [ours2, eig] = race([&] { out = x.add(y); }, [&] { eo = ex + ey; }, reps);
    report_stream(o, "add", n, gbps(3 * b4, ours2), gbps(3 * b4, eig), "eigen");
  }
  {
    auto [ours, copy] = race([&] { out = x.mul(y); }, memcpy_run, reps);
    report_stream(o, "mul", n, gbps(3 * b4, ours), gbps(2 * b4, copy), "memcpy");
    auto [ours2, eig] = race([&] { out = x.mul(y); }, [&] { eo = ex * ey; }, reps);
    report_stream(o, "mul", n, gbps(3 * b4, ours2), gbps(3 * b4, eig), "eigen");
  }
  {
    auto [ours, copy] = race([&] { out = x.exp(); }, memcpy_run, reps);
    report_stream(o, "exp", n, gbps(2 * b4, ours), gbps(2 * b4, copy), "memcpy");
    auto [ours2, eig] = race([&] { out = x.exp(); }, [&] { eo = ex.exp(); }, reps);
    report_stream(o, "exp", n, gbps(2 * b4, ours2), gbps(2 * b4, eig), "eigen");
  }
  {
    fulgur::Tensor s;
    float sink = 0;
    auto [ours, copy] = race([&] { s = x.sum(); }, memcpy_run, reps);
    report_stream(o, "sum", n, gbps(b4, ours), gbps(2 * b4, copy), "memcpy");
    auto [ours2, eig] = race([&] { s = x.sum(); }, [&] { sink += ex.sum(); }, reps);
    report_stream(o, "sum", n, gbps(b4, ours2), gbps(b4, eig), "eigen");
    if (sink == 12345.f) std::printf("\n");  // keeps Eigen's sum from being optimised away
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") o.json = true;
    else if (arg == "--quick") o.quick = true;
    else if (arg.rfind("--only=", 0) == 0) o.only = arg.substr(7);
    else if (arg.rfind("--threads=", 0) == 0) o.threads = std::stoi(arg.substr(10));
    else {
      std::fprintf(stderr, "usage: tensor_ops [--json] [--quick] [--threads=N] [--only=matmul|elementwise]\n");
      return 2;
    }
  }
  if (o.threads > 0) fulgur::set_num_threads(o.threads);
  else fulgur::set_num_threads(fulgur::get_num_threads());  // also sets Eigen's count
  if (!o.json) {
    std::printf("fulgur tensor_ops: %d thread(s); medians of alternating runs\n", fulgur::get_num_threads());
  }
  if (o.only.empty() || o.only == "matmul") bench_matmul(o);
  if (o.only.empty() || o.only == "elementwise") bench_elementwise(o);
  return 0;
}
