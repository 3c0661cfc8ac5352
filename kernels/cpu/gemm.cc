// GEMM through Eigen, without copying transposed operands: a strided operand whose column
// stride is 1 maps as a row-major matrix, one whose row stride is 1 as column-major.
//
// Parallelism is ours, not Eigen's: C is cut into panels whose size depends only on the
// problem shape, and each panel is one single-threaded Eigen product. Eigen's own parallel
// GEMM changes its k-blocking with the thread count (different bits for 1 and 2 threads);
// fixed panels keep results thread-count independent and measured as fast
// (docs/PERFORMANCE.md). 16-bit floats compute in float; integers in int64.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {
namespace {

template <typename T, int Order>
using MatMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, 0, Eigen::OuterStride<>>;
template <typename T, int Order>
using ConstMatMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, 0, Eigen::OuterStride<>>;

template <typename T, int Order>
ConstMatMap<T, Order> map_const(const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  return ConstMatMap<T, Order>(p, rows, cols, Eigen::OuterStride<>(Order == Eigen::RowMajor ? rs : cs));
}

// C[r0:r0+h, c0:c0+w] = alpha * A[r0:.., :] * B[:, c0:..] + beta * C[...]
template <typename T, int OA, int OB>
void panel_product(const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                   int64_t b_cs, T* c, int64_t c_rs, int64_t h, int64_t w, int64_t k, T alpha,
                   T beta) {
  auto A = map_const<T, OA>(a, h, k, a_rs, a_cs);
  auto B = map_const<T, OB>(b, k, w, b_rs, b_cs);
  MatMap<T, Eigen::RowMajor> C(c, h, w, Eigen::OuterStride<>(c_rs));
  if (k == 0) {
    if (beta == T(0)) C.setZero(); else C *= beta;
    return;
  }
  if (beta == T(0)) {
    if (alpha == T(1)) C.noalias() = A * B; else C.noalias() = alpha * (A * B);
  } else {
    C *= beta;
    C.noalias() += alpha * (A * B);
  }
}

// Panel height for an output extent: 2+ panels from 64 up, at most 512 rows.
int64_t panel_size(int64_t extent) {
  if (extent < 128) return 32;
  if (extent < 256) return 64;
  if (extent < 512) return 128;
  if (extent < 1024) return 256;
  return 512;
}

template <typename T>
void gemm_same_type(const GemmArgs& g, const T* a_base, const T* b_base, T* c_base) {
  const bool a_row = g.a_cs == 1;
  const bool b_row = g.b_cs == 1;
  // Split along the larger output dimension; panel size from the shape only. Every panel
  // packs the whole other operand, so panels are as large as still gives two or more of
  // them (measured on 2 cores: docs/PERFORMANCE.md).
  const bool split_rows = g.m >= g.n;
  const int64_t extent = split_rows ? g.m : g.n;
  const bool tiny = g.m * g.n * g.k < 32 * 32 * 32;
  const int64_t panel = tiny ? std::max<int64_t>(extent, 1) : panel_size(extent);
  const int64_t panels = (extent + panel - 1) / panel;
  const int64_t tasks = g.batch * panels;
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);

  auto run = [&](int64_t task) {
    const int64_t bi = task / panels, pi = task % panels;
    const int64_t start = pi * panel, len = std::min(panel, extent - start);
    const T* a = a_base + (g.a_offsets ? g.a_offsets[bi] / static_cast<int64_t>(sizeof(T)) : 0);
    const T* b = b_base + (g.b_offsets ? g.b_offsets[bi] / static_cast<int64_t>(sizeof(T)) : 0);
    T* c = c_base + (g.c_offsets ? g.c_offsets[bi] / static_cast<int64_t>(sizeof(T)) : 0);
    int64_t h = g.m, w = g.n;
    if (split_rows) {
      a += start * g.a_rs;
      c += start * g.c_rs;
      h = len;
    } else {
      b += start * g.b_cs;
      c += start;
      w = len;
    }
#define FULGUR_PANEL(OA, OB) \
  panel_product<T, OA, OB>(a, g.a_rs, g.a_cs, b, g.b_rs, g.b_cs, c, g.c_rs, h, w, g.k, alpha, beta)
    if (a_row && b_row) FULGUR_PANEL(Eigen::RowMajor, Eigen::RowMajor);
    else if (a_row) FULGUR_PANEL(Eigen::RowMajor, Eigen::ColMajor);
    else if (b_row) FULGUR_PANEL(Eigen::ColMajor, Eigen::RowMajor);
    else FULGUR_PANEL(Eigen::ColMajor, Eigen::ColMajor);
#undef FULGUR_PANEL
  };
  // Outside a parallel region Eigen splits a large enough product across its own threads
  // (with a k-blocking that depends on the thread count), so a single large task also runs
  // inside a team: Eigen then sees omp_get_num_threads() > 1 and stays single-threaded.
  // Below 2 * 50000 multiply-adds Eigen never threads (kMinTaskSize in its Parallelizer.h).
  const bool eigen_may_thread = g.m * g.n * g.k >= 2 * 50000;
  if (omp_in_parallel() || get_num_threads() == 1 || (tasks == 1 && !eigen_may_thread)) {
    for (int64_t t = 0; t < tasks; ++t) run(t);
    return;
  }
  const int team = static_cast<int>(std::max<int64_t>(2, std::min<int64_t>(tasks, get_num_threads())));
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
  for (int64_t t = 0; t < tasks; ++t) run(t);
}

// Copies a strided m x n operand of type S into a contiguous row-major buffer of type D.
template <typename D, typename S>
std::vector<D> to_dense(const char* base, const int64_t* offsets, int64_t batch, int64_t rows,
                        int64_t cols, int64_t rs, int64_t cs) {
  std::vector<D> out(static_cast<size_t>(batch * rows * cols));
  for (int64_t bi = 0; bi < batch; ++bi) {
    const S* p = reinterpret_cast<const S*>(base + (offsets ? offsets[bi] : 0));
    D* o = out.data() + bi * rows * cols;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) o[r * cols + c] = convert<D>(p[r * rs + c * cs]);
  }
  return out;
}

// Runs the product in a wider type W (float for 16-bit floats, int64 for integers).
template <typename T, typename W>
void gemm_widened(const GemmArgs& g) {
  auto a = to_dense<W, T>(g.a, g.a_offsets, g.batch, g.m, g.k, g.a_rs, g.a_cs);
  auto b = to_dense<W, T>(g.b, g.b_offsets, g.batch, g.k, g.n, g.b_rs, g.b_cs);
  auto c = g.beta != 0.0 ? to_dense<W, T>(g.c, g.c_offsets, g.batch, g.m, g.n, g.c_rs, 1)
                         : std::vector<W>(static_cast<size_t>(g.batch * g.m * g.n));
  std::vector<int64_t> ao(g.batch), bo(g.batch), co(g.batch);
  for (int64_t i = 0; i < g.batch; ++i) {
    ao[i] = i * g.m * g.k * static_cast<int64_t>(sizeof(W));
    bo[i] = i * g.k * g.n * static_cast<int64_t>(sizeof(W));
    co[i] = i * g.m * g.n * static_cast<int64_t>(sizeof(W));
  }
  GemmArgs w = g;
  w.a_rs = g.k; w.a_cs = 1; w.b_rs = g.n; w.b_cs = 1; w.c_rs = g.n;
  w.a_offsets = ao.data(); w.b_offsets = bo.data(); w.c_offsets = co.data();
  gemm_same_type<W>(w, a.data(), b.data(), c.data());
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    T* out = reinterpret_cast<T*>(g.c + (g.c_offsets ? g.c_offsets[bi] : 0));
    const W* src = c.data() + bi * g.m * g.n;
    for (int64_t r = 0; r < g.m; ++r)
      for (int64_t col = 0; col < g.n; ++col) out[r * g.c_rs + col] = convert<T>(src[r * g.n + col]);
  }
}

}  // namespace

void gemm(const GemmArgs& g) {
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  visit_dtype(g.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      gemm_same_type<T>(g, reinterpret_cast<const T*>(g.a), reinterpret_cast<const T*>(g.b),
                        reinterpret_cast<T*>(g.c));
    } else if constexpr (std::is_same_v<T, bool>) {
      FULGUR_FAIL("matmul", "bool tensors are not supported; hint: convert with .to(kFloat32)");
    } else if constexpr (is_floating_v<T>) {
      gemm_widened<T, float>(g);
    } else {
      gemm_widened<T, int64_t>(g);
    }
  });
}

}  // namespace fulgur::kernels::cpu
