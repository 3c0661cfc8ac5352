// Reductions (sum, mean, prod, var/std, norm, logsumexp, max/min, amax/amin, argmax/argmin,
// all/any) and softmax/log_softmax against references computed in double from inputs read
// with testing::get, over random shapes (0-dim, zero-size dims), the three test layouts,
// every dtype an op supports, and every subset of dims (negative dims included). Also:
// error messages, and bit-identical results for 1 and 2 threads.
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> s = {{}, {5}, {0}, {3, 4}, {2, 0, 3}, {2, 3, 4}, {1, 4, 1}, {3, 1, 2, 2}};
  return s;
}

std::string describe(IntArrayRef shape, DType dtype, Layout layout, IntArrayRef dims = {}, bool keepdim = false) {
  std::ostringstream os;
  os << "shape " << shape_str(shape) << " " << dtype << " " << layout_name(layout) << " dims "
     << shape_str(dims) << " keepdim " << keepdim;
  return os.str();
}

// Every dims list worth trying for an nd-dim tensor: {} (all dims), every non-empty subset in
// a shuffled order, each dim negative at random.
std::vector<Shape> dim_lists(int64_t nd, std::mt19937& rng) {
  std::vector<Shape> out = {{}};
  if (nd == 0) {
    out.push_back({0});
    out.push_back({-1});
    return out;
  }
  for (int64_t bits = 1; bits < (int64_t{1} << nd); ++bits) {
    Shape dims;
    for (int64_t d = 0; d < nd; ++d)
      if (bits & (int64_t{1} << d)) dims.push_back(rng() % 2 ? d : d - nd);
    std::shuffle(dims.begin(), dims.end(), rng);
    out.push_back(dims);
  }
  return out;
}

std::vector<bool> mask_of(int64_t nd, IntArrayRef dims) {
  std::vector<bool> mask(static_cast<size_t>(nd), dims.empty());
  for (int64_t d : dims) {
    if (nd == 0) continue;
    mask[static_cast<size_t>(d < 0 ? d + nd : d)] = true;
  }
  return mask;
}

// The inputs of every output of a reduction of x over the masked dims: outputs in row-major
// order, each with its inputs in row-major order of the reduced dims (so a member's
// position is the flat index over the reduced dims). Values read straight from memory.
struct Groups {
  Shape keep_shape;  // reduced dims as 1
  Shape out_shape;   // reduced dims dropped
  std::vector<std::vector<double>> members;
};

Groups group(const Tensor& x, const std::vector<bool>& mask) {
  Groups g;
  const int64_t nd = x.dim();
  for (int64_t d = 0; d < nd; ++d) {
    g.keep_shape.push_back(mask[d] ? 1 : x.sizes()[d]);
    if (!mask[d]) g.out_shape.push_back(x.sizes()[d]);
  }
  g.members.resize(static_cast<size_t>(numel_of(g.keep_shape)));
  for_each_index(x.sizes(), [&](const std::vector<int64_t>& idx) {
    int64_t o = 0;
    for (int64_t d = 0; d < nd; ++d) o = o * g.keep_shape[d] + (mask[d] ? 0 : idx[d]);
    g.members[static_cast<size_t>(o)].push_back(get(x, idx));
  });
  return g;
}

std::vector<double> abs_sums(const Groups& g) {
  std::vector<double> out;
  for (const auto& m : g.members) {
    double s = 0;
    for (double v : m) s += std::abs(v);
    out.push_back(s);
  }
  return out;
}

// Bits of every element of a contiguous tensor.
std::vector<unsigned char> bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  return std::vector<unsigned char>(p, p + c.numel() * static_cast<int64_t>(c.element_size()));
}

struct ThreadGuard {
  int saved = get_num_threads();
  ~ThreadGuard() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("sum over every subset of dims, all dtypes and layouts") {
  std::mt19937 rng(1234);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        const Tensor x = random_tensor(shape, dtype, rng, layout);
        for (const Shape& dims : dim_lists(x.dim(), rng)) {
          const Groups g = group(x, mask_of(x.dim(), dims));
          std::vector<double> expected;
          for (const auto& m : g.members) expected.push_back(std::accumulate(m.begin(), m.end(), 0.0));
          const std::vector<double> scale = abs_sums(g);
          const DType want = is_floating(dtype) ? dtype : DType::Int64;
          for (bool keepdim : {false, true}) {
            const std::string what = "sum " + describe(shape, dtype, layout, dims, keepdim);
            const Tensor s = x.sum(dims, keepdim);
            CHECK_MESSAGE(s.dtype() == want, what);
            expect_values(s, keepdim ? g.keep_shape : g.out_shape, expected, tolerance(dtype), what, &scale);
          }
        }
      }
    }
  }
}

TEST_CASE("sum with a dtype argument") {
  std::mt19937 rng(1);
  const Tensor i8 = random_tensor({3, 4}, DType::Int8, rng, Layout::Transposed);
  const Tensor f32 = random_tensor({3, 4}, DType::Float32, rng, Layout::Strided);
  const Tensor b = random_tensor({3, 4}, DType::Bool, rng);
  struct Case {
    Tensor x;
    DType dtype;
  };
  for (const Case& c : {Case{i8, DType::Int32}, Case{i8, DType::Int64}, Case{i8, DType::Float32},
                        Case{i8, DType::Int16}, Case{f32, DType::Float64}, Case{f32, DType::Float16},
                        Case{b, DType::Int32}, Case{b, DType::Float64}}) {
    const std::string what = "sum of " + std::string(dtype_name(c.x.dtype())) + " with dtype " +
                             std::string(dtype_name(c.dtype));
    for (const Shape& dims : {Shape{}, Shape{1}, Shape{0, -1}}) {
      const Groups g = group(c.x, mask_of(2, dims));
      std::vector<double> expected;
      for (const auto& m : g.members) expected.push_back(std::accumulate(m.begin(), m.end(), 0.0));
      const std::vector<double> scale = abs_sums(g);
      const Tensor s = c.x.sum(dims, false, c.dtype);
      CHECK_MESSAGE(s.dtype() == c.dtype, what);
      expect_values(s, g.out_shape, expected, std::max(tolerance(c.dtype), 1e-6), what, &scale);
    }
  }
  // The input is converted first (as PyTorch): 1.5 + 2.7 summed as int64 is 1 + 2.
  const Tensor f = from_vector(std::vector<float>{1.5f, 2.7f});
  CHECK(f.sum({}, false, DType::Int64).item<int64_t>() == 3);
}

TEST_CASE("sum of integers is exact int64 (no overflow of the input type)") {
  const Tensor x = full({300}, 100, {.dtype = DType::Int8});
  const Tensor s = x.sum();
  CHECK(s.dtype() == DType::Int64);
  CHECK(s.item<int64_t>() == 30000);
  const Tensor u = full({2, 200}, 255, {.dtype = DType::UInt8});
  CHECK(u.sum({1}).to_vector<int64_t>() == std::vector<int64_t>{51000, 51000});
  const Tensor b = ones({7}, {.dtype = DType::Bool});
  CHECK(b.sum().dtype() == DType::Int64);
  CHECK(b.sum().item<int64_t>() == 7);
}

TEST_CASE("mean over every subset of dims; integers throw") {
  std::mt19937 rng(99);
  for (DType dtype : float_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        const Tensor x = random_tensor(shape, dtype, rng, layout);
        for (const Shape& dims : dim_lists(x.dim(), rng)) {
          const Groups g = group(x, mask_of(x.dim(), dims));
          std::vector<double> expected, scale;
          for (const auto& m : g.members) {
            double s = 0, a = 0;
            for (double v : m) s += v, a += std::abs(v);
            expected.push_back(s / static_cast<double>(m.size()));  // 0/0 = NaN for empty
            scale.push_back(m.empty() ? 0.0 : a / static_cast<double>(m.size()));
          }
          for (bool keepdim : {false, true}) {
            const std::string what = "mean " + describe(shape, dtype, layout, dims, keepdim);
            const Tensor r = x.mean(dims, keepdim);
            CHECK_MESSAGE(r.dtype() == dtype, what);
            expect_values(r, keepdim ? g.keep_shape : g.out_shape, expected, 2 * tolerance(dtype), what, &scale);
          }
        }
      }
    }
  }
  for (DType dtype : all_dtypes()) {
    if (is_floating(dtype)) continue;
    const std::string msg = error_message([&] { (void)zeros({2, 3}, {.dtype = dtype}).mean(); });
    INFO(dtype);
    CHECK(msg.find("mean") != std::string::npos);
    CHECK(msg.find("floating point") != std::string::npos);
    CHECK(msg.find(std::string(dtype_name(dtype))) != std::string::npos);
  }
}

TEST_CASE("prod over all elements and along each dim") {
  std::mt19937 rng(5);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        // Floats in [0.5, 1.5] (and signs) keep products of up to 24 factors in range.
        const Tensor x = random_tensor(shape, dtype, rng, layout, -1.5, 1.5);
        const int64_t nd = x.dim();
        std::vector<std::optional<int64_t>> dims = {std::nullopt};
        for (int64_t d = -std::max<int64_t>(nd, 1); d < std::max<int64_t>(nd, 1); ++d) dims.push_back(d);
        for (const auto& dim : dims) {
          const Groups g = group(x, dim ? mask_of(nd, {*dim}) : mask_of(nd, {}));
          std::vector<double> expected;
          for (const auto& m : g.members) {
            if (is_floating(dtype)) {
              double p = 1;
              for (double v : m) p *= v;
              expected.push_back(p);
            } else {  // int64 arithmetic, wrapping like the kernel and PyTorch
              uint64_t p = 1;
              for (double v : m) p *= static_cast<uint64_t>(static_cast<int64_t>(v));
              expected.push_back(static_cast<double>(static_cast<int64_t>(p)));
            }
          }
          for (bool keepdim : {false, true}) {
            const std::string what = "prod " + describe(shape, dtype, layout, dim ? Shape{*dim} : Shape{}, keepdim);
            const Tensor r = x.prod(dim, keepdim);
            CHECK_MESSAGE(r.dtype() == (is_floating(dtype) ? dtype : DType::Int64), what);
            const Shape want = !dim ? Shape{} : keepdim ? g.keep_shape : g.out_shape;
            // 24 roundings of the running product in the dtype's precision for 16-bit floats.
            const double tol = dtype == DType::Float16 || dtype == DType::BFloat16 ? 8 * tolerance(dtype)
                                                                                 : 4 * tolerance(dtype);
            expect_values(r, want, expected, tol, what);
          }
        }
      }
    }
  }
}

TEST_CASE("var and std with correction 0, 1, 2 and keepdim") {
  std::mt19937 rng(77);
  for (DType dtype : float_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        const Tensor x = random_tensor(shape, dtype, rng, layout);
        for (const Shape& dims : dim_lists(x.dim(), rng)) {
          const Groups g = group(x, mask_of(x.dim(), dims));
          for (double correction : {0.0, 1.0, 2.0}) {
            std::vector<double> var, sd;
            for (const auto& m : g.members) {
              const double n = static_cast<double>(m.size());
              double mu = 0;
              for (double v : m) mu += v;
              mu /= n;
              double ss = 0;
              for (double v : m) ss += (v - mu) * (v - mu);
              const double v = ss / std::max(0.0, n - correction);
              var.push_back(v);
              sd.push_back(std::sqrt(v));
            }
            // 16-bit types subtract a rounded mean in the 16-bit type: a few ulps more.
            const double tol = (dtype == DType::Float16 || dtype == DType::BFloat16 ? 4 : 8) * tolerance(dtype);
            for (bool keepdim : {false, true}) {
              const std::string what = describe(shape, dtype, layout, dims, keepdim) + " correction " +
                                       std::to_string(correction);
              const Shape want = keepdim ? g.keep_shape : g.out_shape;
              const Tensor v = x.var(dims, correction, keepdim);
              CHECK_MESSAGE(v.dtype() == dtype, what);
              expect_values(v, want, var, tol, "var " + what);
              expect_values(x.std(dims, correction, keepdim), want, sd, tol, "std " + what);
            }
          }
        }
      }
    }
  }
  CHECK(error_message([] { (void)arange(4).var(); }).find("floating point") != std::string::npos);
  // Known values (torch.var([1, 2, 3, 4]) == 1.6667, correction=0: 1.25, correction=2: 2.5).
  const Tensor x = from_vector(std::vector<double>{1, 2, 3, 4});
  CHECK(x.var({}, 1).item<double>() == doctest::Approx(5.0 / 3.0));
  CHECK(x.var({}, 0).item<double>() == doctest::Approx(1.25));
  CHECK(x.var({}, 2).item<double>() == doctest::Approx(2.5));
  CHECK(x.std({}, 0).item<double>() == doctest::Approx(std::sqrt(1.25)));
}

TEST_CASE("norm with p = 0, 1, 2, 3, inf, -inf") {
  std::mt19937 rng(31);
  for (DType dtype : float_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        Tensor x = random_tensor(shape, dtype, rng, layout);
        // Some exact zeros for p = 0.
        for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
          if (rng() % 4 == 0) set(x, i, 0.0);
        });
        for (const Shape& dims : dim_lists(x.dim(), rng)) {
          const Groups g = group(x, mask_of(x.dim(), dims));
          for (double p : {0.0, 1.0, 2.0, 3.0, kInf, -kInf}) {
            bool any_empty = false;
            std::vector<double> expected, scale;
            for (const auto& m : g.members) {
              any_empty = any_empty || m.empty();
              double r = 0;
              if (p == 0) {
                for (double v : m) r += v != 0;
              } else if (p == kInf) {
                for (double v : m) r = std::max(r, std::abs(v));
              } else if (p == -kInf) {
                r = kInf;
                for (double v : m) r = std::min(r, std::abs(v));
              } else {
                for (double v : m) r += std::pow(std::abs(v), p);
                r = std::pow(r, 1.0 / p);
              }
              expected.push_back(r);
              double s = 0;
              for (double v : m) s = std::max(s, std::abs(v));
              scale.push_back(p == 0 ? r : s * static_cast<double>(m.size()));
            }
            for (bool keepdim : {false, true}) {
              const std::string what = "norm p=" + std::to_string(p) + " " + describe(shape, dtype, layout, dims, keepdim);
              if (p == -kInf && any_empty) {
                CHECK_THROWS_AS_MESSAGE((void)x.norm(p, dims, keepdim), Error, what);
                continue;
              }
              const Tensor r = x.norm(p, dims, keepdim);
              CHECK_MESSAGE(r.dtype() == dtype, what);
              expect_values(r, keepdim ? g.keep_shape : g.out_shape, expected, 2 * tolerance(dtype), what, &scale);
            }
          }
        }
      }
    }
  }
  const Tensor v = from_vector(std::vector<float>{3, -4, 0});
  CHECK(v.norm().item<double>() == doctest::Approx(5.0));
  CHECK(v.norm(1).item<double>() == doctest::Approx(7.0));
  CHECK(v.norm(0).item<double>() == doctest::Approx(2.0));
  CHECK(v.norm(kInf).item<double>() == doctest::Approx(4.0));
  CHECK(v.norm(-kInf).item<double>() == doctest::Approx(0.0));
  CHECK(v.norm(3).item<double>() == doctest::Approx(std::cbrt(91.0)));
}

namespace {
double ref_logsumexp(const std::vector<double>& m) {
  double mx = -kInf;
  bool nan = false;
  for (double v : m) {
    if (std::isnan(v)) nan = true;
    mx = std::max(mx, v);
  }
  if (nan) return kNaN;
  if (m.empty() || mx == -kInf) return -kInf;
  if (mx == kInf) return kInf;
  double s = 0;
  for (double v : m) s += std::exp(v - mx);
  return mx + std::log(s);
}
}  // namespace

TEST_CASE("logsumexp over dims, incl. -inf/+inf rows and large values") {
  std::mt19937 rng(2024);
  for (DType dtype : float_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        for (int variant = 0; variant < 3; ++variant) {
          // 0: plain; 1: around 1000 (naive exp overflows even float64); 2: with infinities.
          Tensor x = variant == 1 ? random_tensor(shape, dtype, rng, layout, 995.0, 1005.0)
                                  : random_tensor(shape, dtype, rng, layout);
          if (variant == 2) {
            for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
              const unsigned r = rng() % 6;
              if (r == 0) set(x, i, -kInf);
              if (r == 1 && !i.empty() && i[0] == 0) set(x, i, kInf);
            });
            // Whole rows of -inf along the last dim.
            if (x.dim() >= 1 && x.numel() > 0) {
              for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
                if (i[0] == x.size(0) - 1) set(x, i, -kInf);
              });
            }
          }
          for (const Shape& dims : dim_lists(x.dim(), rng)) {
            const Groups g = group(x, mask_of(x.dim(), dims));
            std::vector<double> expected;
            for (const auto& m : g.members) expected.push_back(ref_logsumexp(m));
            for (bool keepdim : {false, true}) {
              const std::string what = "logsumexp variant " + std::to_string(variant) + " " +
                                       describe(shape, dtype, layout, dims, keepdim);
              const Tensor r = x.logsumexp(dims, keepdim);
              CHECK_MESSAGE(r.dtype() == dtype, what);
              expect_values(r, keepdim ? g.keep_shape : g.out_shape, expected, 2 * tolerance(dtype), what);
            }
          }
        }
      }
    }
  }
  // Exact-ish known values; integer input gives float32 (as PyTorch).
  const Tensor big = from_vector(std::vector<float>{1000, 1000});
  CHECK(big.logsumexp({0}).item<double>() == doctest::Approx(1000 + std::log(2.0)));
  const Tensor ints = from_vector(std::vector<int64_t>{1, 2, 3});
  const Tensor r = ints.logsumexp({0});
  CHECK(r.dtype() == DType::Float32);
  CHECK(r.item<double>() == doctest::Approx(ref_logsumexp({1, 2, 3})).epsilon(1e-6));
}

namespace {
// max/min reference: first NaN wins (value and index), else the first extreme value.
struct ArgRef {
  double value;
  int64_t index;
};
ArgRef ref_arg(const std::vector<double>& m, bool is_max) {
  ArgRef r{m[0], 0};
  for (size_t i = 0; i < m.size(); ++i) {
    if (std::isnan(m[i])) return {m[i], static_cast<int64_t>(i)};
    if (i > 0 && (is_max ? m[i] > r.value : m[i] < r.value)) r = {m[i], static_cast<int64_t>(i)};
  }
  return r;
}
Tensor with_nans(Tensor x, std::mt19937& rng) {
  if (!is_floating(x.dtype())) return x;
  for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
    if (rng() % 7 == 0) set(x, i, kNaN);
  });
  return x;
}
}  // namespace

TEST_CASE("max/min over all elements and along a dim: values, first index on ties, NaN") {
  std::mt19937 rng(8);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        for (bool nans : {false, true}) {
          if (nans && !is_floating(dtype)) continue;
          Tensor x = random_tensor(shape, dtype, rng, layout);
          if (nans) x = with_nans(x, rng);
          const int64_t nd = x.dim();
          for (bool is_max : {true, false}) {
            const std::string base = std::string(is_max ? "max " : "min ") + (nans ? "with NaN " : "");
            // Over all elements.
            {
              const std::string what = base + describe(shape, dtype, layout);
              const Groups g = group(x, mask_of(nd, {}));
              if (x.numel() == 0) {
                CHECK_THROWS_AS_MESSAGE((void)(is_max ? x.max() : x.min()), Error, what);
                CHECK_THROWS_AS_MESSAGE((void)(is_max ? x.argmax() : x.argmin()), Error, what);
              } else {
                const ArgRef r = ref_arg(g.members[0], is_max);
                const Tensor v = is_max ? x.max() : x.min();
                CHECK_MESSAGE(v.dtype() == dtype, what);
                expect_values(v, {}, {r.value}, 0.0, what);
                const Tensor a = is_max ? x.argmax() : x.argmin();
                CHECK_MESSAGE(a.dtype() == DType::Int64, what);
                expect_values(a, {}, {static_cast<double>(r.index)}, 0.0, "arg" + what);
              }
            }
            // Along each dim.
            for (int64_t dim = -std::max<int64_t>(nd, 1); dim < std::max<int64_t>(nd, 1); ++dim) {
              const Groups g = group(x, mask_of(nd, {dim}));
              const bool empty_reduction = numel_of(g.keep_shape) > 0 && x.numel() == 0;
              for (bool keepdim : {false, true}) {
                const std::string what = base + describe(shape, dtype, layout, {dim}, keepdim);
                if (empty_reduction) {
                  CHECK_THROWS_AS_MESSAGE((void)(is_max ? x.max(dim, keepdim) : x.min(dim, keepdim)), Error, what);
                  CHECK_THROWS_AS_MESSAGE((void)(is_max ? x.argmax(dim, keepdim) : x.argmin(dim, keepdim)), Error,
                                          what);
                  continue;
                }
                std::vector<double> ev, ei;
                for (const auto& m : g.members) {
                  const ArgRef r = ref_arg(m, is_max);
                  ev.push_back(r.value);
                  ei.push_back(static_cast<double>(r.index));
                }
                const Shape want = keepdim ? g.keep_shape : g.out_shape;
                auto [v, i] = is_max ? x.max(dim, keepdim) : x.min(dim, keepdim);
                CHECK_MESSAGE(v.dtype() == dtype, what);
                CHECK_MESSAGE(i.dtype() == DType::Int64, what);
                expect_values(v, want, ev, 0.0, what + " values");
                expect_values(i, want, ei, 0.0, what + " indices");
                const Tensor a = is_max ? x.argmax(dim, keepdim) : x.argmin(dim, keepdim);
                expect_values(a, want, ei, 0.0, "arg" + what);
              }
            }
          }
        }
      }
    }
  }
  // Ties: the first occurrence, also across the chunks of a long reduction.
  Tensor t = zeros({100000});
  t.narrow(0, 40000, 10).fill_(3.0);
  t.narrow(0, 70000, 10).fill_(3.0);
  CHECK(t.argmax().item<int64_t>() == 40000);
  CHECK(std::get<1>(t.max(0)).item<int64_t>() == 40000);
  t.narrow(0, 90000, 1).fill_(std::numeric_limits<double>::quiet_NaN());
  t.narrow(0, 95000, 1).fill_(std::numeric_limits<double>::quiet_NaN());
  CHECK(t.argmax().item<int64_t>() == 90000);
  CHECK(t.argmin().item<int64_t>() == 90000);
  CHECK(std::isnan(t.max().item<double>()));
  const std::string msg = error_message([] { (void)zeros({3, 0}).max(1); });
  CHECK(msg.find("max") != std::string::npos);
  CHECK(msg.find("[3, 0]") != std::string::npos);
}

TEST_CASE("amax/amin over several dims") {
  std::mt19937 rng(18);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        const Tensor x = with_nans(random_tensor(shape, dtype, rng, layout), rng);
        for (const Shape& dims : dim_lists(x.dim(), rng)) {
          const Groups g = group(x, mask_of(x.dim(), dims));
          bool empty_group = false;
          for (const auto& m : g.members) empty_group = empty_group || m.empty();
          for (bool is_max : {true, false}) {
            for (bool keepdim : {false, true}) {
              const std::string what = std::string(is_max ? "amax " : "amin ") + describe(shape, dtype, layout, dims, keepdim);
              if (empty_group) {
                CHECK_THROWS_AS_MESSAGE((void)(is_max ? x.amax(dims, keepdim) : x.amin(dims, keepdim)), Error, what);
                continue;
              }
              std::vector<double> expected;
              for (const auto& m : g.members) expected.push_back(ref_arg(m, is_max).value);
              const Tensor r = is_max ? x.amax(dims, keepdim) : x.amin(dims, keepdim);
              CHECK_MESSAGE(r.dtype() == dtype, what);
              expect_values(r, keepdim ? g.keep_shape : g.out_shape, expected, 0.0, what);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("all/any: bool result, uint8 stays uint8") {
  std::mt19937 rng(3);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        // Mostly non-zero values so that `all` is sometimes true; NaN counts as true.
        Tensor x = random_tensor(shape, dtype, rng, layout);
        for_each_index(x.sizes(), [&](const std::vector<int64_t>& i) {
          const unsigned r = rng() % 8;
          if (r < 5) set(x, i, 1.0);
          if (r == 5) set(x, i, 0.0);
          if (r == 6 && is_floating(dtype)) set(x, i, kNaN);
        });
        const DType want = dtype == DType::UInt8 ? DType::UInt8 : DType::Bool;
        const int64_t nd = x.dim();
        std::vector<std::optional<int64_t>> dims = {std::nullopt};
        for (int64_t d = -std::max<int64_t>(nd, 1); d < std::max<int64_t>(nd, 1); ++d) dims.push_back(d);
        for (const auto& dim : dims) {
          const Groups g = group(x, dim ? mask_of(nd, {*dim}) : mask_of(nd, {}));
          std::vector<double> e_all, e_any;
          for (const auto& m : g.members) {
            bool all = true, any = false;
            for (double v : m) {
              all = all && v != 0;  // NaN != 0
              any = any || v != 0;
            }
            e_all.push_back(all);
            e_any.push_back(any);
          }
          for (bool keepdim : {false, true}) {
            const std::string what = describe(shape, dtype, layout, dim ? Shape{*dim} : Shape{}, keepdim);
            const Shape s = !dim ? Shape{} : keepdim ? g.keep_shape : g.out_shape;
            const Tensor a = x.all(dim, keepdim), o = x.any(dim, keepdim);
            CHECK_MESSAGE(a.dtype() == want, ("all " + what));
            CHECK_MESSAGE(o.dtype() == want, ("any " + what));
            expect_values(a, s, e_all, 0.0, "all " + what);
            expect_values(o, s, e_any, 0.0, "any " + what);
          }
        }
      }
    }
  }
  CHECK(zeros({0}).all().item<bool>());
  CHECK_FALSE(zeros({0}).any().item<bool>());
}

namespace {
// Softmax / log_softmax of x along dim, in x's shape.
std::vector<double> ref_softmax(const Tensor& x, int64_t dim, bool log) {
  const int64_t nd = x.dim();
  const Groups g = group(x, mask_of(nd, {dim}));
  std::vector<double> mx, sum;
  for (const auto& m : g.members) {
    double a = -kInf;
    for (double v : m) a = std::max(a, v);
    double s = 0;
    for (double v : m) s += std::exp(v - a);
    mx.push_back(a);
    sum.push_back(s);
  }
  std::vector<double> out;
  for_each_index(x.sizes(), [&](const std::vector<int64_t>& idx) {
    int64_t o = 0;
    for (int64_t d = 0; d < nd; ++d) o = o * g.keep_shape[d] + (g.keep_shape[d] == 1 ? 0 : idx[d]);
    const double v = get(x, idx) - mx[static_cast<size_t>(o)];
    out.push_back(log ? v - std::log(sum[static_cast<size_t>(o)]) : std::exp(v) / sum[static_cast<size_t>(o)]);
  });
  return out;
}
}  // namespace

TEST_CASE("softmax and log_softmax along each dim, incl. large values and zero-size dims") {
  std::mt19937 rng(11);
  for (DType dtype : float_dtypes()) {
    for (const Shape& shape : shapes()) {
      for (Layout layout : all_layouts()) {
        for (bool large : {false, true}) {
          Tensor x = random_tensor(shape, dtype, rng, layout, large ? 990.0 : -4.0, large ? 1010.0 : 4.0);
          const int64_t nd = x.dim();
          for (int64_t dim = -std::max<int64_t>(nd, 1); dim < std::max<int64_t>(nd, 1); ++dim) {
            const std::string what = describe(shape, dtype, layout, {dim}) + (large ? " large" : "");
            const Tensor s = x.softmax(dim);
            CHECK_MESSAGE(s.dtype() == dtype, what);
            expect_values(s, shape, ref_softmax(x, dim, false), 2 * tolerance(dtype), "softmax " + what);
            const Tensor l = x.log_softmax(dim);
            CHECK_MESSAGE(l.dtype() == dtype, what);
            expect_values(l, shape, ref_softmax(x, dim, true), 2 * tolerance(dtype), "log_softmax " + what);
            if (x.numel() > 0) {  // rows of softmax sum to 1
              const Groups g = group(s, mask_of(nd, {dim}));
              for (const auto& m : g.members) {
                const double total = std::accumulate(m.begin(), m.end(), 0.0);
                CHECK_MESSAGE(std::abs(total - 1.0) <= 8 * tolerance(dtype) * static_cast<double>(m.size()), what);
              }
            }
          }
        }
      }
    }
  }
  // Functional forms and the float-only rule.
  const Tensor x = from_vector(std::vector<float>{1, 2, 3});
  CHECK(equal(softmax(x, 0), x.softmax(0)));
  CHECK(equal(log_softmax(x, -1), x.log_softmax(0)));
  CHECK(error_message([] { (void)arange(3).softmax(0); }).find("floating point") != std::string::npos);
  CHECK(error_message([] { (void)arange(3).to(kFloat32).softmax(1); }).find("dimension out of range") !=
        std::string::npos);
}

TEST_CASE("softmax with inf and NaN: -inf entries get 0, a NaN or an all -inf slice gives NaN (as PyTorch)") {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (DType dtype : {kFloat32, kFloat64, DType::BFloat16}) {
    for (int64_t dim : {0, 1}) {  // dim 1: rows (inner 1); dim 0: columns (inner 4)
      // Slices along dim: one with a -inf, one with a NaN, one all -inf, one plain.
      const Tensor rows = from_vector(std::vector<double>{-inf, 0, nan, 1, -inf, -inf, 2, 3}, Shape{4, 2}).to(dtype);
      const Tensor x = dim == 1 ? rows.contiguous() : rows.t().contiguous();
      const Tensor s = x.softmax(dim).to(kFloat64), l = x.log_softmax(dim).to(kFloat64);
      auto at = [&](const Tensor& t, int64_t slice, int64_t i) { return dim == 1 ? get(t, {slice, i}) : get(t, {i, slice}); };
      CHECK(at(s, 0, 0) == 0.0);
      CHECK(at(s, 0, 1) == 1.0);
      CHECK(at(l, 0, 0) == -inf);
      CHECK(at(l, 0, 1) == 0.0);
      CHECK(std::isnan(at(s, 1, 0)));
      CHECK(std::isnan(at(s, 1, 1)));
      CHECK(std::isnan(at(l, 1, 1)));
      CHECK(std::isnan(at(s, 2, 0)));
      CHECK(std::isnan(at(s, 2, 1)));
      CHECK(std::isnan(at(l, 2, 1)));
      CHECK(at(s, 3, 1) == doctest::Approx(1 / (1 + std::exp(-1.0))).epsilon(1e-2));
    }
  }
}

TEST_CASE("dims lists: negative dims, duplicates, out of range, keepdim shapes") {
  const Tensor x = zeros({2, 3, 4, 5});
  CHECK(x.sum({-1}).sizes() == IntArrayRef{2, 3, 4});
  CHECK(x.sum({1, -1}, true).sizes() == IntArrayRef{2, 1, 4, 1});
  CHECK(x.sum({-4, 2}).sizes() == IntArrayRef{3, 5});
  CHECK(x.sum({}, true).sizes() == IntArrayRef{1, 1, 1, 1});
  CHECK(x.sum().sizes() == IntArrayRef{});
  CHECK(x.amax({0, 3}, true).sizes() == IntArrayRef{1, 3, 4, 1});
  CHECK(x.mean({2, 1}).sizes() == IntArrayRef{2, 5});
  CHECK(x.var({3, 0}, 1, true).sizes() == IntArrayRef{1, 3, 4, 1});
  CHECK(x.logsumexp({1, 2}).sizes() == IntArrayRef{2, 5});
  CHECK(x.norm(2, {-2}, true).sizes() == IntArrayRef{2, 3, 1, 5});
  CHECK(x.prod(1, true).sizes() == IntArrayRef{2, 1, 4, 5});
  CHECK(x.prod(std::nullopt, true).sizes() == IntArrayRef{});  // no dim: keepdim has no effect
  CHECK(x.all(-1, true).sizes() == IntArrayRef{2, 3, 4, 1});
  CHECK(std::get<1>(x.max(2, true)).sizes() == IntArrayRef{2, 3, 1, 5});

  using Fn = std::function<void()>;
  for (const Fn& fn : {Fn([&] { (void)x.sum({1, -3}); }), Fn([&] { (void)x.mean({0, 0}); }),
                       Fn([&] { (void)x.amax({3, 2, -1}); }), Fn([&] { (void)x.amin({2, -2}); }),
                       Fn([&] { (void)x.var({1, 1}); }), Fn([&] { (void)x.std({0, -4}); }),
                       Fn([&] { (void)x.norm(2, {2, 2}); }), Fn([&] { (void)x.logsumexp({3, -1}); })}) {
    const std::string msg = error_message(fn);
    CHECK_MESSAGE(msg.find("appears multiple times") != std::string::npos, msg);
  }
  const std::string msg = error_message([&] { (void)x.sum({1, -3}); });
  CHECK(msg.find("dim 1") != std::string::npos);
  for (const Fn& fn : {Fn([&] { (void)x.sum({4}); }), Fn([&] { (void)x.sum({-5}); }),
                       Fn([&] { (void)x.max(4); }), Fn([&] { (void)x.argmin(-5); }),
                       Fn([&] { (void)x.any(7); }), Fn([&] { (void)x.prod(-9); })}) {
    CHECK(error_message(fn).find("dimension out of range") != std::string::npos);
  }
  // 0-dim tensors accept dim 0 and -1 (as PyTorch).
  const Tensor s = scalar_tensor(2.5);
  CHECK(s.sum({0}).item<double>() == 2.5);
  CHECK(s.sum({-1}, true).sizes() == IntArrayRef{});
  CHECK(std::get<1>(s.max(0)).item<int64_t>() == 0);
  CHECK(s.softmax(0).item<double>() == 1.0);
  CHECK(error_message([&] { (void)s.sum({1}); }).find("dimension out of range") != std::string::npos);
}

TEST_CASE("reductions of expanded (stride 0) inputs and long rows split into chunks") {
  std::mt19937 rng(64);
  // Expanded: every reduced element is the same memory.
  const Tensor row = random_tensor({3}, DType::Float32, rng);
  const Tensor ex = row.expand({4, 3});
  const std::vector<double> r = values(row);
  expect_values(ex.sum({0}), {3}, {4 * r[0], 4 * r[1], 4 * r[2]}, 1e-6, "sum of expanded");
  expect_values(ex.sum(), {}, {4 * (r[0] + r[1] + r[2])}, 1e-6, "sum of expanded, all");
  auto [v, i] = ex.max(0);
  expect_values(v, {3}, r, 0.0, "max of expanded");
  expect_values(i, {3}, {0, 0, 0}, 0.0, "argmax of expanded (first of equal elements)");
  const Tensor col = random_tensor({5, 1}, DType::Int32, rng).expand({5, 7});
  std::vector<double> e7;
  for (double c : values(col.select(1, 0))) e7.push_back(7 * c);
  expect_values(col.sum({1}), {5}, e7, 0.0, "int sum of expanded rows");

  // A few outputs over long rows: each row reduced in 32768-element chunks, the partial
  // results combined in order (ties and NaN must keep the first position across chunks).
  for (Layout layout : {Layout::Contiguous, Layout::Transposed}) {
    for (DType dtype : {DType::Float32, DType::Int16, DType::Float64}) {
      const Tensor x = random_tensor({3, 70000}, dtype, rng, layout, -1.0, 1.0);
      set(x, {0, 50000}, 5.0);
      set(x, {0, 65000}, 5.0);
      set(x, {1, 40000}, -5.0);
      set(x, {1, 3}, -5.0);
      if (is_floating(dtype)) {
        set(x, {2, 69999}, kNaN);
        set(x, {2, 33000}, kNaN);
      }
      const Groups g = group(x, mask_of(2, {1}));
      std::vector<double> sums, maxv, maxi, minv, mini, scale;
      for (const auto& m : g.members) {
        sums.push_back(std::accumulate(m.begin(), m.end(), 0.0));
        const ArgRef mx = ref_arg(m, true), mn = ref_arg(m, false);
        maxv.push_back(mx.value);
        maxi.push_back(static_cast<double>(mx.index));
        minv.push_back(mn.value);
        mini.push_back(static_cast<double>(mn.index));
      }
      scale = abs_sums(g);
      const std::string what = std::string(dtype_name(dtype)) + " " + layout_name(layout);
      expect_values(x.sum({1}), {3}, sums, is_floating(dtype) ? 1e-6 : 0.0, "long sum " + what, &scale);
      auto [xv, xi] = x.max(1);
      expect_values(xv, {3}, maxv, 0.0, "long max " + what);
      expect_values(xi, {3}, maxi, 0.0, "long argmax " + what);
      auto [nv, ni] = x.min(-1, true);
      expect_values(nv, {3, 1}, minv, 0.0, "long min " + what);
      expect_values(ni, {3, 1}, mini, 0.0, "long argmin " + what);
      expect_values(x.amax({1}), {3}, maxv, 0.0, "long amax " + what);
      expect_values(x.argmin(1), {3}, mini, 0.0, "long argmin (function) " + what);
    }
  }
}

TEST_CASE("empty reductions") {
  for (DType dtype : all_dtypes()) {
    INFO(dtype);
    const Tensor e = zeros({2, 0, 3}, {.dtype = dtype});
    const Tensor s = e.sum();
    CHECK(values(s) == std::vector<double>{0.0});
    CHECK(values(e.sum({1})) == std::vector<double>(6, 0.0));
    CHECK(e.sum({0, 2}).sizes() == IntArrayRef{0});
    CHECK(values(e.prod()) == std::vector<double>{1.0});
    CHECK(values(e.prod(1)) == std::vector<double>(6, 1.0));
    CHECK_THROWS_AS((void)e.max(), Error);
    CHECK_THROWS_AS((void)e.min(), Error);
    CHECK_THROWS_AS((void)e.amax({1}), Error);
    CHECK_THROWS_AS((void)e.max(1), Error);
    CHECK_THROWS_AS((void)e.argmin(), Error);
    CHECK(e.amax({0}).sizes() == IntArrayRef{0, 3});  // nothing to reduce into
    CHECK(std::get<0>(e.max(2)).sizes() == IntArrayRef{2, 0});
    if (is_floating(dtype)) {
      CHECK(std::isnan(e.mean().item<double>()));
      CHECK(e.logsumexp({1}).sizes() == IntArrayRef{2, 3});
      CHECK(values(e.logsumexp({1})) == std::vector<double>(6, -kInf));
      CHECK(values(e.norm(2, {1})) == std::vector<double>(6, 0.0));
      CHECK(values(e.norm(kInf, {1})) == std::vector<double>(6, 0.0));
    }
  }
  const std::string msg = error_message([] { (void)zeros({0}).max(); });
  CHECK(msg.find("max") == 0);
  CHECK(msg.find("[0]") != std::string::npos);
}

TEST_CASE("reductions are bit-identical with 1 and 2 threads") {
  ThreadGuard guard;
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);

  // A large float32 sum: reduced in chunks, partials combined in a fixed order.
  Tensor big = empty({3000000});
  {
    float* p = big.data_ptr<float>();
    for (int64_t i = 0; i < big.numel(); ++i) p[i] = u(rng);
  }
  double ref = 0;
  {
    const float* p = big.data_ptr<float>();
    for (int64_t i = 0; i < big.numel(); ++i) ref += p[i];
  }
  const Tensor rows = big.view({6, 500000});
  const Tensor cols = big.view({1000, 3000}).t();

  // Matmuls: 300 x 300 (several output panels) and 96 x 96 with a long k (one panel, which
  // Eigen alone would split across threads).
  auto random_matrix = [&](int64_t r, int64_t c) {
    Tensor m = empty({r, c});
    float* p = m.data_ptr<float>();
    for (int64_t i = 0; i < m.numel(); ++i) p[i] = u(rng);
    return m;
  };
  const Tensor a = random_matrix(300, 300), b = random_matrix(300, 300);
  const Tensor c = random_matrix(96, 3000), d = random_matrix(3000, 96);

  auto run = [&](int threads) {
    set_num_threads(threads);
    REQUIRE(get_num_threads() == threads);
    return std::vector<Tensor>{big.sum(), rows.sum({1}), cols.sum({0}), big.mean(), a.matmul(b), c.matmul(d),
                               a.t().matmul(b), c.to(kFloat64).matmul(d.to(kFloat64))};
  };
  const std::vector<Tensor> one = run(1);
  const std::vector<Tensor> two = run(2);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result ", i);
    CHECK(one[i].sizes() == two[i].sizes());
    CHECK(bytes_of(one[i]) == bytes_of(two[i]));
  }
  CHECK(one[0].item<double>() == doctest::Approx(ref).epsilon(1e-5));
}
