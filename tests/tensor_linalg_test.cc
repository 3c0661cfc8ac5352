// matmul / mm / bmm / addmm / linear against a double-precision reference computed from
// inputs read with testing::values (never through fulgur ops): every 1-D/2-D/batched
// combination, broadcast batch dims, transposed and otherwise strided operands (the three
// test layouts, .t(), slices, expanded batches), zero-size dims, the float and integer
// dtypes, and error messages. Float tolerance grows with k.
#include <algorithm>
#include <limits>
#include <sstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

const std::vector<DType>& matmul_dtypes() {
  static const std::vector<DType> d = {DType::Float32, DType::Float64, DType::Float16,
                                       DType::BFloat16, DType::Int32,   DType::Int64};
  return d;
}

struct Expected {
  Shape shape;
  std::vector<double> values;
  std::vector<double> scale;  // sum over k of |a| * |b|, per output
  int64_t k = 0;
};

// PyTorch's matmul semantics in double: 1-D operands become a row / column that is dropped
// from the result, batch dims broadcast.
Expected ref_matmul(const Tensor& a, const Tensor& b) {
  REQUIRE(a.dim() >= 1);
  REQUIRE(b.dim() >= 1);
  const bool a1 = a.dim() == 1, b1 = b.dim() == 1;
  const int64_t m = a1 ? 1 : a.size(-2), k = a.size(-1);
  const int64_t n = b1 ? 1 : b.size(-1);
  REQUIRE(k == (b1 ? b.size(0) : b.size(-2)));
  const Shape a_batch = a1 ? Shape{} : Shape(a.sizes().begin(), a.sizes().end() - 2);
  const Shape b_batch = b1 ? Shape{} : Shape(b.sizes().begin(), b.sizes().end() - 2);
  const size_t nb = std::max(a_batch.size(), b_batch.size());
  Shape batch(nb);
  for (size_t i = 0; i < nb; ++i) {
    const int64_t da = i < nb - a_batch.size() ? 1 : a_batch[i - (nb - a_batch.size())];
    const int64_t db = i < nb - b_batch.size() ? 1 : b_batch[i - (nb - b_batch.size())];
    REQUIRE((da == db || da == 1 || db == 1));
    batch[i] = da == 1 ? db : da;
  }
  const std::vector<double> av = values(a), bv = values(b);
  Expected e;
  e.k = k;
  e.shape = batch;
  if (!a1) e.shape.push_back(m);
  if (!b1) e.shape.push_back(n);
  Shape full = batch;
  full.push_back(m);
  full.push_back(n);
  for_each_index(full, [&](const std::vector<int64_t>& idx) {
    const int64_t i = idx[nb], j = idx[nb + 1];
    // Flat batch index of each operand (aligned from the right, size-1 dims broadcast).
    int64_t ab = 0, bb = 0;
    for (size_t d = 0; d < a_batch.size(); ++d) ab = ab * a_batch[d] + (a_batch[d] == 1 ? 0 : idx[d + nb - a_batch.size()]);
    for (size_t d = 0; d < b_batch.size(); ++d) bb = bb * b_batch[d] + (b_batch[d] == 1 ? 0 : idx[d + nb - b_batch.size()]);
    // Row-major: a[ab, i, p] at (ab * m + i) * k + p, b[bb, p, j] at (bb * k + p) * n + j.
    const int64_t a0 = (ab * m + i) * k, b0 = bb * k * n + j;
    double s = 0, sc = 0;
    for (int64_t p = 0; p < k; ++p) {
      const double x = av[static_cast<size_t>(a0 + p)];
      const double y = bv[static_cast<size_t>(b0 + p * n)];
      s += x * y;
      sc += std::abs(x * y);
    }
    e.values.push_back(s);
    e.scale.push_back(sc);
  });
  return e;
}

// Float results may differ from the exact value by the rounding of k products and sums
// (bounded relative to sum |a||b|); 16-bit results by the final rounding; integers by 0.
double matmul_tol(DType dtype, int64_t k) {
  switch (dtype) {
    case DType::Float64: return 2.3e-16 * static_cast<double>(k + 2);
    case DType::Float32: return 1.2e-7 * static_cast<double>(k + 2);
    case DType::Float16:
    case DType::BFloat16: return tolerance(dtype);
    default: return 0.0;
  }
}

void check_matmul(const Expected& e, const Tensor& a, const Tensor& out, const std::string& what) {
  CHECK_MESSAGE(out.dtype() == a.dtype(), what);
  expect_values(out, e.shape, e.values, matmul_tol(a.dtype(), e.k), what, &e.scale);
}

void check_matmul(const Tensor& a, const Tensor& b, const Tensor& out, const std::string& what) {
  check_matmul(ref_matmul(a, b), a, out, what);
}

std::string describe(const Tensor& a, const Tensor& b) {
  std::ostringstream os;
  os << shape_str(a.sizes()) << " (strides " << shape_str(a.strides()) << ") @ " << shape_str(b.sizes())
     << " (strides " << shape_str(b.strides()) << ") " << a.dtype();
  return os.str();
}

}  // namespace

TEST_CASE("matmul: 1-D, 2-D and batched operands with broadcast batch dims, all layouts") {
  std::mt19937 rng(555);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{4}, {4}},           {{0}, {0}},          {{3}, {3, 5}},        {{3, 5}, {5}},
      {{2, 3}, {3, 4}},     {{1, 1}, {1, 1}},    {{7, 5}, {5, 9}},     {{2, 1, 3, 4}, {5, 4, 2}},
      {{3}, {2, 3, 4}},     {{2, 3, 4}, {4}},    {{4, 3}, {2, 3, 5}},  {{2, 4, 3}, {3, 5}},
      {{3, 2, 5}, {3, 5, 2}}, {{2, 3, 0}, {0, 4}}, {{0, 3}, {3, 4}},     {{3, 4}, {4, 0}},
      {{0, 2, 3}, {3, 2}},  {{2, 3, 0}, {1, 0, 4}},
      // Beyond the single-panel size: output split by rows, then by columns.
      {{150, 80}, {80, 70}}, {{70, 80}, {80, 150}}};
  for (DType dtype : matmul_dtypes()) {
    for (const auto& [sa, sb] : cases) {
      const bool large = numel_of(sa) * numel_of(sb) > 100000;
      for (Layout la : all_layouts()) {
        for (Layout lb : all_layouts()) {
          if (large && la != lb) continue;  // keep the big products few
          const Tensor a = random_tensor(sa, dtype, rng, la);
          const Tensor b = random_tensor(sb, dtype, rng, lb);
          const std::string what = "matmul " + describe(a, b) + " " + layout_name(la) + "/" + layout_name(lb);
          const Expected e = ref_matmul(a, b);
          check_matmul(e, a, a.matmul(b), what);
          check_matmul(e, a, matmul(a, b), "free " + what);
          if (a.dim() == 2 && b.dim() == 2) check_matmul(e, a, a.mm(b), "mm " + what);
          if (a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0)) check_matmul(e, a, bmm(a, b), "bmm " + what);
        }
      }
    }
  }
}

TEST_CASE("matmul: transposed operands (.t()), slices and expanded batches") {
  std::mt19937 rng(9);
  for (DType dtype : matmul_dtypes()) {
    for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{3, 4, 5}, {1, 7, 1}, {6, 1, 2}, {17, 33, 9},
                           {0, 3, 2}, {2, 0, 3}}) {
      const Tensor a = random_tensor({m, k}, dtype, rng);
      const Tensor b = random_tensor({k, n}, dtype, rng);
      const Tensor at = random_tensor({k, m}, dtype, rng).t();  // [m, k] with strides (1, m)
      const Tensor bt = random_tensor({n, k}, dtype, rng).t();  // [k, n] with strides (1, k)
      for (const auto& [x, y] : {std::pair{a, b}, std::pair{at, b}, std::pair{a, bt}, std::pair{at, bt}}) {
        const std::string what = "mm " + describe(x, y);
        const Expected e = ref_matmul(x, y);
        check_matmul(e, x, x.mm(y), what);
        check_matmul(e, x, x.matmul(y), what);
        // And the product transposed: (x @ y)^T == y^T @ x^T.
        check_matmul(y.t(), x.t(), y.t().matmul(x.t()), "transposed " + what);
      }
    }
    // Row-major with a row stride larger than the row: narrow() columns.
    const Tensor wide = random_tensor({6, 10}, dtype, rng);
    const Tensor rhs = random_tensor({4, 3}, dtype, rng);
    check_matmul(wide.narrow(1, 3, 4), rhs, wide.narrow(1, 3, 4).matmul(rhs), "narrowed columns");
    // Column-major with a column stride larger than the column: narrow() rows of a .t().
    const Tensor tall = random_tensor({9, 12}, dtype, rng).t();  // [12, 9], strides (1, 12)
    const Tensor lhs = random_tensor({2, 5}, dtype, rng);
    check_matmul(lhs, tall.narrow(0, 2, 5), lhs.matmul(tall.narrow(0, 2, 5)), "narrowed rows of t()");
    // Neither stride 1: step slices in both dims.
    const Tensor grid = random_tensor({8, 12}, dtype, rng);
    const Tensor sa = grid.slice(0, 1, std::nullopt, 2).slice(1, 0, std::nullopt, 3);  // [4, 4]
    const Tensor sb = random_tensor({9, 10}, dtype, rng).slice(0, 0, 8, 2).slice(1, 1, 7, 2);  // [4, 3]
    check_matmul(sa, sb, sa.matmul(sb), "step slices");
    check_matmul(sa.t(), sa, sa.t().matmul(sa), "step slice transposed");
    // Batches: expanded (stride 0), permuted batch dims, a non-contiguous batch slice.
    const Tensor one = random_tensor({1, 3, 4}, dtype, rng);
    const Tensor batch_b = random_tensor({5, 4, 2}, dtype, rng);
    check_matmul(one.expand({5, 3, 4}), batch_b, one.expand({5, 3, 4}).matmul(batch_b), "expanded batch");
    const Tensor perm = random_tensor({3, 4, 5}, dtype, rng).transpose(0, 1);  // [4, 3, 5], strides (5, 20, 1)
    const Tensor pb = random_tensor({4, 5, 2}, dtype, rng).transpose(1, 2).transpose(1, 2);
    check_matmul(perm, pb, perm.bmm(pb), "permuted batch");
    const Tensor sliced = random_tensor({6, 3, 4}, dtype, rng).slice(0, 0, std::nullopt, 2);  // batch stride 24
    const Tensor vb = random_tensor({3, 4, 2}, dtype, rng).transpose(1, 2);  // [3, 2, 4]
    check_matmul(sliced, vb.transpose(1, 2), sliced.matmul(vb.transpose(1, 2)), "sliced batch");
    // Expanded matrices (a stride 0): a row repeated, a column repeated.
    const Tensor r1 = random_tensor({1, 4}, dtype, rng).expand({3, 4});
    const Tensor c1 = random_tensor({4, 1}, dtype, rng).expand({4, 5});
    check_matmul(r1, c1, r1.matmul(c1), "expanded rows @ expanded columns");
    check_matmul(c1.t(), r1.t(), c1.t().mm(r1.t()), "expanded, transposed");
    // Matrix-vector with a strided vector.
    const Tensor vec = random_tensor({8}, dtype, rng).slice(0, 0, std::nullopt, 2);  // [4], stride 2
    check_matmul(vec, rhs, vec.matmul(rhs), "strided vector @ matrix");
    check_matmul(wide.narrow(1, 3, 4), vec, wide.narrow(1, 3, 4).matmul(vec), "matrix @ strided vector");
    check_matmul(vec, vec, vec.matmul(vec), "dot of strided vectors");
  }
}

TEST_CASE("matmul: zero-size operands") {
  for (DType dtype : matmul_dtypes()) {
    INFO(dtype);
    const Tensor z = zeros({3, 0}, {.dtype = dtype}).matmul(zeros({0, 4}, {.dtype = dtype}));
    CHECK(z.sizes() == IntArrayRef{3, 4});
    CHECK(values(z) == std::vector<double>(12, 0.0));
    CHECK(zeros({0, 3}, {.dtype = dtype}).matmul(ones({3, 4}, {.dtype = dtype})).sizes() == IntArrayRef{0, 4});
    CHECK(ones({3, 2}, {.dtype = dtype}).matmul(ones({2, 0}, {.dtype = dtype})).sizes() == IntArrayRef{3, 0});
    CHECK(ones({0, 2, 3}, {.dtype = dtype}).bmm(ones({0, 3, 4}, {.dtype = dtype})).sizes() == IntArrayRef{0, 2, 4});
    const Tensor dot = zeros({0}, {.dtype = dtype}).matmul(zeros({0}, {.dtype = dtype}));
    CHECK(dot.sizes() == IntArrayRef{});
    CHECK(values(dot) == std::vector<double>{0.0});
    // k = 0 into a buffer that was not zero: still zeros (and addmm keeps beta * input).
    const Tensor acc = full({2, 2}, 3, {.dtype = dtype});
    CHECK(values(addmm(acc, zeros({2, 0}, {.dtype = dtype}), zeros({0, 2}, {.dtype = dtype}), 2, 1)) ==
          std::vector<double>(4, 6.0));
  }
}

TEST_CASE("mm/bmm/matmul errors") {
  const std::string mm_msg = error_message([] { (void)zeros({2, 3}).mm(zeros({4, 5})); });
  CHECK(mm_msg.find("cannot be multiplied") != std::string::npos);
  CHECK(mm_msg.find("[2, 3]") != std::string::npos);
  CHECK(mm_msg.find("[4, 5]") != std::string::npos);
  const std::string bmm_msg = error_message([] { (void)zeros({2, 3, 4}).bmm(zeros({2, 5, 6})); });
  CHECK(bmm_msg.find("cannot be multiplied") != std::string::npos);
  CHECK(bmm_msg.find("[2, 3, 4]") != std::string::npos);
  CHECK(bmm_msg.find("[2, 5, 6]") != std::string::npos);
  const std::string mv_msg = error_message([] { (void)zeros({3}).matmul(zeros({4})); });
  CHECK(mv_msg.find("cannot be multiplied") != std::string::npos);
  CHECK(mv_msg.find("[3]") != std::string::npos);
  CHECK(mv_msg.find("[4]") != std::string::npos);
  const std::string batch_msg = error_message([] { (void)zeros({2, 3, 4}).bmm(zeros({3, 4, 5})); });
  CHECK(batch_msg.find("[2, 3, 4]") != std::string::npos);
  CHECK(batch_msg.find("[3, 4, 5]") != std::string::npos);
  CHECK(error_message([] { (void)zeros({2, 3, 4}).matmul(zeros({3, 4, 5})); }).find("broadcast") !=
        std::string::npos);
  CHECK(error_message([] { (void)zeros({2, 3, 4}).mm(zeros({4, 5})); }).find("2-D") != std::string::npos);
  CHECK(error_message([] { (void)zeros({3, 4}).bmm(zeros({4, 5})); }).find("3-D") != std::string::npos);
  CHECK_THROWS_AS((void)scalar_tensor(1.0).matmul(zeros({1})), Error);
  const std::string dt_msg = error_message([] { (void)zeros({2, 3}).matmul(zeros({3, 2}, {.dtype = kFloat64})); });
  CHECK(dt_msg.find("float32") != std::string::npos);
  CHECK(dt_msg.find("float64") != std::string::npos);
  CHECK(error_message([] { (void)zeros({2, 3}, {.dtype = kInt32}).mm(zeros({3, 2}, {.dtype = kInt64})); })
            .find("same dtype") != std::string::npos);
  CHECK_THROWS_AS((void)zeros({2, 2}, {.dtype = kBool}).matmul(zeros({2, 2}, {.dtype = kBool})), Error);
  CHECK(error_message([] { (void)addmm(zeros({2, 2}), zeros({2, 3}), zeros({4, 2})); }).find("cannot be multiplied") !=
        std::string::npos);
  CHECK(error_message([] { (void)addmm(zeros({2, 2}, {.dtype = kFloat64}), zeros({2, 3}), zeros({3, 2})); })
            .find("float64") != std::string::npos);
  CHECK_THROWS_AS((void)addmm(zeros({3, 3}), zeros({2, 3}), zeros({3, 2})), Error);  // input not broadcastable
}

TEST_CASE("addmm with beta and alpha (beta = 0 ignores NaN input)") {
  std::mt19937 rng(21);
  const int64_t n = 4, k = 6, p = 3;
  for (DType dtype : matmul_dtypes()) {
    const bool fl = is_floating(dtype);
    const std::vector<std::pair<double, double>> coefs =
        fl ? std::vector<std::pair<double, double>>{{1, 1}, {0.5, 2}, {0, 1}, {0, -0.5}, {-1, 0.25}, {2, 0}}
           : std::vector<std::pair<double, double>>{{1, 1}, {2, 3}, {0, 1}, {0, -2}, {-1, 1}, {3, 0}};
    for (const Shape& in_shape : {Shape{n, p}, Shape{p}, Shape{1, p}, Shape{n, 1}, Shape{}}) {
      for (Layout layout : all_layouts()) {
        for (bool transposed_mats : {false, true}) {
          const Tensor m1 = transposed_mats ? random_tensor({k, n}, dtype, rng).t() : random_tensor({n, k}, dtype, rng, layout);
          const Tensor m2 = transposed_mats ? random_tensor({p, k}, dtype, rng).t() : random_tensor({k, p}, dtype, rng, layout);
          const Expected prod = ref_matmul(m1, m2);
          for (const auto& [beta, alpha] : coefs) {
            Tensor input = random_tensor(in_shape, dtype, rng, layout);
            if (beta == 0 && fl) {  // NaN everywhere: must not leak into the result
              for_each_index(input.sizes(), [&](const std::vector<int64_t>& i) { set(input, i, kNaN); });
            }
            std::vector<double> expected, scale;
            for (int64_t i = 0; i < n; ++i) {
              for (int64_t j = 0; j < p; ++j) {
                std::vector<int64_t> ii;
                if (in_shape.size() == 2) ii = {in_shape[0] == 1 ? 0 : i, in_shape[1] == 1 ? 0 : j};
                if (in_shape.size() == 1) ii = {j};
                const double in = beta == 0 ? 0.0 : get(input, ii);
                const size_t o = static_cast<size_t>(i * p + j);
                expected.push_back(beta * in + alpha * prod.values[o]);
                scale.push_back(std::abs(beta * in) + std::abs(alpha) * prod.scale[o]);
              }
            }
            std::ostringstream what;
            what << "addmm " << dtype << " input " << shape_str(in_shape) << " " << layout_name(layout)
                 << " transposed " << transposed_mats << " beta " << beta << " alpha " << alpha;
            const Tensor out = fl ? addmm(input, m1, m2, beta, alpha)
                                  : addmm(input, m1, m2, static_cast<int64_t>(beta), static_cast<int64_t>(alpha));
            CHECK_MESSAGE(out.dtype() == dtype, what.str());
            // 16-bit: beta * input and the product are each rounded once more.
            const double tol = matmul_tol(dtype, k) * (fl && element_size(dtype) == 2 ? 2 : 1);
            expect_values(out, {n, p}, expected, tol, what.str(), &scale);
          }
        }
      }
    }
  }
  // The input is not modified.
  const Tensor input = ones({2, 2});
  (void)addmm(input, ones({2, 3}), ones({3, 2}), 1, 1);
  CHECK(values(input) == std::vector<double>(4, 1.0));
}

TEST_CASE("linear with and without bias") {
  std::mt19937 rng(33);
  for (DType dtype : float_dtypes()) {
    for (Layout layout : all_layouts()) {
      for (const Shape& x_shape : {Shape{2, 3, 4}, Shape{4}, Shape{5, 4}, Shape{0, 4}, Shape{2, 0, 4}}) {
        const Tensor x = random_tensor(x_shape, dtype, rng, layout);
        const Tensor weight = layout == Layout::Transposed ? random_tensor({4, 5}, dtype, rng).t()
                                                           : random_tensor({5, 4}, dtype, rng, layout);
        const Tensor bias = random_tensor({5}, dtype, rng, layout);
        // Reference: x @ weight^T (+ bias), with weight^T read through the reference only.
        const Tensor w_t = weight.t();
        const Expected e = ref_matmul(x, w_t);
        std::vector<double> with_bias = e.values, scale_b = e.scale;
        const std::vector<double> bv = values(bias);
        for (size_t i = 0; i < with_bias.size(); ++i) {
          with_bias[i] += bv[i % 5];
          scale_b[i] += std::abs(bv[i % 5]);
        }
        Shape out_shape = x_shape;
        out_shape.back() = 5;
        const double tol = matmul_tol(dtype, 4) * (element_size(dtype) == 2 ? 2 : 1);
        const std::string what = "linear " + shape_str(x_shape) + " " + std::string(dtype_name(dtype)) + " " +
                                 layout_name(layout);
        const Tensor no_bias = linear(x, weight);
        CHECK_MESSAGE(no_bias.dtype() == dtype, what);
        expect_values(no_bias, out_shape, e.values, tol, what + " without bias", &e.scale);
        expect_values(linear(x, weight, bias), out_shape, with_bias, tol, what + " with bias", &scale_b);
      }
    }
  }
  const std::string msg = error_message([] { (void)linear(zeros({2, 3}), zeros({5, 4})); });
  CHECK(msg.find("in_features") != std::string::npos);
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(error_message([] { (void)linear(zeros({2, 4}), zeros({5, 4}), zeros({4})); }).find("bias") !=
        std::string::npos);
  CHECK_THROWS_AS((void)linear(zeros({2, 4}), zeros({5, 4}, {.dtype = kFloat64})), Error);
}
