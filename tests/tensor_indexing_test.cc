// Joining, splitting, indexing and sorting against references computed from inputs read
// with testing::get (never through fulgur ops): cat, stack, split/split_with_sizes/chunk/
// unbind, index_select, gather, scatter, scatter_add, index_add, masked_fill,
// masked_select, one_hot, topk, sort/argsort. Random shapes (0-dim and zero-size dims), the
// three test layouts, the dtypes each op supports, and the error messages.
#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

std::string describe(IntArrayRef shape, DType dtype, Layout layout, int64_t dim) {
  std::ostringstream os;
  os << "shape " << shape_str(shape) << " " << dtype << " " << layout_name(layout) << " dim " << dim;
  return os.str();
}

// An int64 tensor of `shape` and `layout` holding values from gen(index).
Tensor index_tensor(IntArrayRef shape, Layout layout, std::mt19937& rng,
                    const std::function<int64_t(const std::vector<int64_t>&)>& gen) {
  Tensor t = random_tensor(shape, DType::Int64, rng, layout);
  for_each_index(shape, [&](const std::vector<int64_t>& i) { set(t, i, static_cast<double>(gen(i))); });
  return t;
}

bool same_storage(const Tensor& a, const Tensor& b) { return a.storage().get() == b.storage().get(); }

// Equal element-wise, NaN equal to NaN.
bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// The value a tensor of `dtype` holds after assigning v (exact for the small test values).
double as_dtype(double v, DType dtype) {
  Tensor t = empty({}, {.dtype = dtype});
  set(t, {}, v);
  return get(t, {});
}

}  // namespace

// ---- cat / stack -----------------------------------------------------------------------

namespace {
std::vector<double> ref_cat(const std::vector<Tensor>& parts, int64_t dim, IntArrayRef out_shape) {
  std::vector<double> out;
  for_each_index(out_shape, [&](const std::vector<int64_t>& idx) {
    int64_t off = 0;
    for (const Tensor& p : parts) {
      if (idx[dim] < off + p.size(dim)) {
        std::vector<int64_t> i = idx;
        i[dim] -= off;
        out.push_back(get(p, i));
        return;
      }
      off += p.size(dim);
    }
    FAIL("index past the parts");
  });
  return out;
}
}  // namespace

TEST_CASE("cat along every dim, all dtypes and layouts") {
  std::mt19937 rng(100);
  for (DType dtype : all_dtypes()) {
    for (const Shape& base : {Shape{3}, Shape{2, 3}, Shape{2, 3, 4}, Shape{2, 0, 3}}) {
      const int64_t nd = static_cast<int64_t>(base.size());
      for (int64_t dim = -nd; dim < nd; ++dim) {
        const int64_t d = dim < 0 ? dim + nd : dim;
        std::vector<Tensor> parts;
        for (int64_t len : {2, 0, 3, 1}) {
          Shape s = base;
          s[d] = len;
          if (nd == 1 && len == 0) s[d] = 4;  // 1-D empty tensors are skipped: tested below
          parts.push_back(random_tensor(s, dtype, rng, all_layouts()[rng() % 3]));
        }
        Shape out_shape = base;
        out_shape[d] = 0;
        for (const Tensor& p : parts) out_shape[d] += p.size(d);
        const std::string what = "cat " + describe(base, dtype, Layout::Contiguous, dim);
        const Tensor out = cat(parts, dim);
        CHECK_MESSAGE(out.dtype() == dtype, what);
        CHECK_MESSAGE(out.is_contiguous(), what);
        expect_values(out, out_shape, ref_cat(parts, d, out_shape), 0.0, what);
      }
    }
  }
  // A single tensor is copied, not aliased.
  const Tensor x = ones({2, 2});
  const Tensor y = cat({x}, 0);
  CHECK_FALSE(same_storage(x, y));
  CHECK(values(y) == values(x));
}

TEST_CASE("cat: dtype promotion and skipped 1-D empty tensors") {
  std::mt19937 rng(7);
  const std::vector<std::pair<DType, DType>> pairs = {
      {DType::Int32, DType::Float16}, {DType::UInt8, DType::Int8},      {DType::Bool, DType::Int64},
      {DType::BFloat16, DType::Float16}, {DType::Int64, DType::Float32}, {DType::Bool, DType::Bool},
      {DType::Float32, DType::Float64}, {DType::Int16, DType::UInt8}};
  for (const auto& [a, b] : pairs) {
    const Tensor x = random_tensor({2, 3}, a, rng, Layout::Transposed);
    const Tensor y = random_tensor({2, 2}, b, rng, Layout::Strided);
    const DType want = promote_types(a, b);
    const Tensor out = cat({x, y}, 1);
    std::ostringstream what;
    what << "cat " << a << " + " << b;
    CHECK_MESSAGE(out.dtype() == want, what.str());
    std::vector<double> expected = ref_cat({x, y}, 1, {2, 5});
    for (double& v : expected) v = as_dtype(v, want);
    expect_values(out, {2, 5}, expected, 0.0, what.str());
  }
  // Legacy rule: 1-D tensors with zero elements are skipped whatever the other shapes.
  const Tensor x = random_tensor({2, 3}, DType::Float32, rng);
  const Tensor y = random_tensor({4, 3}, DType::Float32, rng, Layout::Transposed);
  const Tensor e = zeros({0});
  const Tensor out = cat({e, x, e, y, e}, 0);
  expect_values(out, {6, 3}, ref_cat({x, y}, 0, {6, 3}), 0.0, "cat with skipped empties");
  CHECK(cat({x, e}, 1).sizes() == IntArrayRef{2, 3});
  CHECK(cat({e, e}, 0).sizes() == IntArrayRef{0});
  // Their dtype still takes part in promotion (as PyTorch: result_type over all inputs).
  CHECK(cat({x.to(kInt32), zeros({0}, {.dtype = kFloat64})}, 0).dtype() == DType::Float64);
  CHECK(cat({zeros({0}, {.dtype = kInt64}), zeros({0}, {.dtype = kFloat16})}, 0).dtype() == DType::Float16);
}

TEST_CASE("cat errors") {
  const std::string msg = error_message([] { (void)cat({zeros({2, 3}), zeros({2, 4})}, 0); });
  CHECK(msg.find("cat") == 0);
  CHECK(msg.find("dimension 0") != std::string::npos);
  CHECK(msg.find("expected size 3") != std::string::npos);
  CHECK(msg.find("size 4") != std::string::npos);
  CHECK(msg.find("tensor number 1") != std::string::npos);
  const std::string msg1 = error_message([] { (void)cat({zeros({2, 3}), zeros({3, 3}), zeros({4, 3})}, 1); });
  CHECK(msg1.find("dimension 1") != std::string::npos);
  CHECK(msg1.find("[2, 3]") != std::string::npos);
  CHECK(msg1.find("[3, 3]") != std::string::npos);
  CHECK(error_message([] { (void)cat({zeros({2, 3}), zeros({2, 3, 1})}, 0); }).find("number of dimensions") !=
        std::string::npos);
  CHECK(error_message([] { (void)cat({scalar_tensor(1.0), scalar_tensor(2.0)}, 0); }).find("zero-dimensional") !=
        std::string::npos);
  CHECK_THROWS_AS((void)cat({}, 0), Error);
  CHECK(error_message([] { (void)cat({zeros({2, 3}), zeros({2, 3})}, 2); }).find("dimension out of range") !=
        std::string::npos);
}

TEST_CASE("stack along every dim") {
  std::mt19937 rng(101);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : {Shape{}, Shape{4}, Shape{2, 3}, Shape{2, 0}}) {
      const int64_t nd = static_cast<int64_t>(shape.size());
      std::vector<Tensor> parts;
      for (int i = 0; i < 3; ++i) parts.push_back(random_tensor(shape, dtype, rng, all_layouts()[rng() % 3]));
      for (int64_t dim = -(nd + 1); dim <= nd; ++dim) {
        const int64_t d = dim < 0 ? dim + nd + 1 : dim;
        Shape out_shape = shape;
        out_shape.insert(out_shape.begin() + d, 3);
        std::vector<double> expected;
        for_each_index(out_shape, [&](const std::vector<int64_t>& idx) {
          std::vector<int64_t> i = idx;
          i.erase(i.begin() + d);
          expected.push_back(get(parts[static_cast<size_t>(idx[d])], i));
        });
        const std::string what = "stack " + describe(shape, dtype, Layout::Contiguous, dim);
        const Tensor out = stack(parts, dim);
        CHECK_MESSAGE(out.dtype() == dtype, what);
        expect_values(out, out_shape, expected, 0.0, what);
      }
    }
  }
  const std::string msg = error_message([] { (void)stack({zeros({2, 3}), zeros({2, 3}), zeros({3, 2})}); });
  CHECK(msg.find("[2, 3]") != std::string::npos);
  CHECK(msg.find("[3, 2]") != std::string::npos);
  CHECK(msg.find("entry 2") != std::string::npos);
  CHECK_THROWS_AS((void)stack({zeros({2}), zeros({2})}, 3), Error);
  CHECK_THROWS_AS((void)stack({}, 0), Error);
}

// ---- split / chunk / unbind --------------------------------------------------------------

namespace {
// Checks that parts are views of x along dim with the given lengths: values, and shared
// storage (a write through a part is seen in x).
void check_parts(const Tensor& x, const std::vector<Tensor>& parts, int64_t dim, const std::vector<int64_t>& lengths,
                 bool squeezed, const std::string& what) {
  INFO(what);
  REQUIRE(parts.size() == lengths.size());
  int64_t off = 0;
  for (size_t p = 0; p < parts.size(); ++p) {
    Shape want = x.sizes().vec();
    if (squeezed) want.erase(want.begin() + dim);
    else want[dim] = lengths[p];
    CHECK(parts[p].sizes() == IntArrayRef(want));
    CHECK(parts[p].dtype() == x.dtype());
    CHECK(same_storage(parts[p], x));
    for_each_index(parts[p].sizes(), [&](const std::vector<int64_t>& i) {
      std::vector<int64_t> xi = i;
      if (squeezed) xi.insert(xi.begin() + dim, off);
      else xi[dim] += off;
      CHECK(get(parts[p], i) == get(x, xi));
    });
    if (parts[p].numel() > 0) {
      const std::vector<int64_t> first(parts[p].dim(), 0);
      std::vector<int64_t> xi = first;
      if (squeezed) xi.insert(xi.begin() + dim, off);
      else xi[dim] += off;
      const double v = get(x, xi) == 1.0 ? 0.0 : 1.0;
      set(parts[p], first, v);
      CHECK(get(x, xi) == v);
    }
    off += lengths[p];
  }
  CHECK(off == (x.dim() ? x.size(dim) : 0));
}
}  // namespace

TEST_CASE("split, split_with_sizes, chunk and unbind are views") {
  std::mt19937 rng(102);
  for (DType dtype : {DType::Float32, DType::Int8, DType::Bool, DType::BFloat16}) {
    for (Layout layout : all_layouts()) {
      const Tensor x = random_tensor({7, 4}, dtype, rng, layout);
      const std::string base = std::string(dtype_name(dtype)) + " " + layout_name(layout);
      check_parts(x, x.split(3, 0), 0, {3, 3, 1}, false, "split 3 dim 0 " + base);
      check_parts(x, x.split(2, -1), 1, {2, 2}, false, "split 2 dim -1 " + base);
      check_parts(x, x.split(10, 0), 0, {7}, false, "split 10 " + base);
      check_parts(x, x.split_with_sizes({2, 0, 5}, 0), 0, {2, 0, 5}, false, "split_with_sizes " + base);
      check_parts(x, x.split_with_sizes({1, 3}, -1), 1, {1, 3}, false, "split_with_sizes dim -1 " + base);
      check_parts(x, x.chunk(3, 0), 0, {3, 3, 1}, false, "chunk 3 " + base);
      check_parts(x, x.chunk(4, 1), 1, {1, 1, 1, 1}, false, "chunk 4 dim 1 " + base);
      check_parts(x, x.chunk(3, 1), 1, {2, 2}, false, "chunk 3 dim 1 " + base);  // as PyTorch: 2 chunks
      check_parts(x, x.chunk(10, 0), 0, {1, 1, 1, 1, 1, 1, 1}, false, "chunk 10 " + base);
      check_parts(x, x.unbind(0), 0, std::vector<int64_t>(7, 1), true, "unbind 0 " + base);
      check_parts(x, x.unbind(-1), 1, std::vector<int64_t>(4, 1), true, "unbind -1 " + base);
    }
  }
  // Zero-size dims (PyTorch: chunk keeps the number of chunks, split gives one empty part).
  const Tensor e = zeros({0, 2});
  check_parts(e, e.split(2, 0), 0, {0}, false, "split of empty");
  check_parts(e, e.chunk(3, 0), 0, {0, 0, 0}, false, "chunk of empty");
  CHECK(e.unbind(0).empty());
  check_parts(e, e.split(1, 1), 1, {1, 1}, false, "split along non-empty dim");
  // Errors.
  CHECK(error_message([] { (void)zeros({5}).split_with_sizes({2, 2}, 0); }).find("sum to 4") != std::string::npos);
  CHECK_THROWS_AS((void)zeros({5}).split(0, 0), Error);
  CHECK_THROWS_AS((void)zeros({5}).chunk(0, 0), Error);
  CHECK_THROWS_AS((void)scalar_tensor(1.0).unbind(0), Error);
  CHECK_THROWS_AS((void)zeros({5}).split(2, 1), Error);
}

// ---- index_select / gather / scatter / index_add -----------------------------------------

TEST_CASE("index_select: every dim, repeated, empty and strided indices") {
  std::mt19937 rng(200);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : {Shape{}, Shape{5}, Shape{3, 4}, Shape{2, 3, 4}, Shape{2, 0, 3}}) {
      for (Layout layout : all_layouts()) {
        const Tensor x = random_tensor(shape, dtype, rng, layout);
        const int64_t nd = x.dim();
        for (int64_t dim = -std::max<int64_t>(nd, 1); dim < std::max<int64_t>(nd, 1); ++dim) {
          const int64_t d = dim < 0 ? dim + std::max<int64_t>(nd, 1) : dim;
          const int64_t n = nd ? x.size(d) : 1;
          for (int64_t len : {0, 1, 4, 7}) {
            if (n == 0 && len > 0) continue;
            if (nd == 0 && len != 1) continue;  // a 0-dim input takes exactly one index
            for (Layout il : {Layout::Contiguous, Layout::Strided}) {
              // Repeats are likely: len up to 7 draws from n <= 5.
              const Tensor index = index_tensor({len}, il, rng, [&](const auto&) { return int64_t(rng() % n); });
              Shape out_shape = shape;
              if (nd) out_shape[d] = len;
              std::vector<double> expected;
              for_each_index(out_shape, [&](const std::vector<int64_t>& i) {
                std::vector<int64_t> xi = i;
                if (nd) xi[d] = static_cast<int64_t>(get(index, {i[d]}));
                expected.push_back(get(x, xi));
              });
              const std::string what = "index_select " + describe(shape, dtype, layout, dim) + " len " +
                                       std::to_string(len) + " " + layout_name(il);
              const Tensor out = x.index_select(dim, index);
              CHECK_MESSAGE(out.dtype() == dtype, what);
              expect_values(out, out_shape, expected, 0.0, what);
            }
          }
        }
      }
    }
  }
  const Tensor x = arange(10).reshape({2, 5});
  for (int64_t bad : {5, -1, 100}) {
    const std::string msg = error_message([&] { (void)x.index_select(1, from_vector(std::vector<int64_t>{0, bad})); });
    CHECK_MESSAGE(msg.find("out of bounds") != std::string::npos, msg);
    CHECK(msg.find(std::to_string(bad)) != std::string::npos);
  }
  CHECK(error_message([&] { (void)x.index_select(0, from_vector(std::vector<int32_t>{0})); }).find("int64") !=
        std::string::npos);
  CHECK_THROWS_AS((void)x.index_select(0, zeros({1, 1}, {.dtype = kInt64})), Error);
}

TEST_CASE("gather along every dim") {
  std::mt19937 rng(201);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}, Shape{3, 0}}) {
      for (Layout layout : all_layouts()) {
        const Tensor x = random_tensor(shape, dtype, rng, layout);
        const int64_t nd = x.dim();
        for (int64_t dim = -nd; dim < nd; ++dim) {
          const int64_t d = dim < 0 ? dim + nd : dim;
          // Index shape: at most x's size outside dim, anything along dim.
          Shape is = shape;
          for (int64_t k = 0; k < nd; ++k) is[k] = k == d ? int64_t(rng() % 6) : int64_t(rng() % (shape[k] + 1));
          if (x.size(d) == 0) is[d] = 0;
          const Tensor index = index_tensor(is, all_layouts()[rng() % 3], rng,
                                            [&](const auto&) { return int64_t(rng() % std::max<int64_t>(1, x.size(d))); });
          std::vector<double> expected;
          for_each_index(is, [&](const std::vector<int64_t>& i) {
            std::vector<int64_t> xi = i;
            xi[d] = static_cast<int64_t>(get(index, i));
            expected.push_back(get(x, xi));
          });
          const std::string what = "gather " + describe(shape, dtype, layout, dim) + " index " + shape_str(is);
          const Tensor out = x.gather(dim, index);
          CHECK_MESSAGE(out.dtype() == dtype, what);
          expect_values(out, is, expected, 0.0, what);
        }
      }
    }
  }
  const Tensor x = arange(6).reshape({2, 3});
  const std::string msg = error_message([&] { (void)x.gather(1, from_vector(std::vector<int64_t>{0, 3}, Shape{2, 1})); });
  CHECK(msg.find("out of bounds") != std::string::npos);
  CHECK(msg.find("index 3") != std::string::npos);
  CHECK(msg.find("size 3") != std::string::npos);
  CHECK(error_message([&] { (void)x.gather(1, from_vector(std::vector<int64_t>{-1}, Shape{1, 1})); })
            .find("out of bounds") != std::string::npos);
  CHECK_THROWS_AS((void)x.gather(0, zeros({1, 4}, {.dtype = kInt64})), Error);  // index larger outside dim
  CHECK(values(x.gather(0, zeros({3, 1}, {.dtype = kInt64}))) == std::vector<double>{0, 0, 0});  // larger along it
  CHECK_THROWS_AS((void)x.gather(0, zeros({2}, {.dtype = kInt64})), Error);     // rank mismatch
}

namespace {
// An index of shape `is` for scattering into `self` along d: each line along d holds
// distinct positions (so the result does not depend on write order).
Tensor unique_index(const Tensor& self, int64_t d, IntArrayRef is, Layout layout, std::mt19937& rng) {
  std::map<std::vector<int64_t>, std::vector<int64_t>> perms;
  return index_tensor(is, layout, rng, [&](const std::vector<int64_t>& i) {
    std::vector<int64_t> key = i;
    key[d] = 0;
    auto it = perms.find(key);
    if (it == perms.end()) {
      std::vector<int64_t> p(static_cast<size_t>(self.size(d)));
      std::iota(p.begin(), p.end(), int64_t{0});
      std::shuffle(p.begin(), p.end(), rng);
      it = perms.emplace(key, p).first;
    }
    return it->second[static_cast<size_t>(i[d])];
  });
}

// base (row-major values of a tensor of shape `shape`) with out[i with i[d] = index[i]]
// (op)= src(i) for every i of index's shape, in row-major order.
std::vector<double> ref_scatter(std::vector<double> out, IntArrayRef shape, int64_t d, const Tensor& index,
                                const std::function<double(const std::vector<int64_t>&)>& src, bool add) {
  for_each_index(index.sizes(), [&](const std::vector<int64_t>& i) {
    std::vector<int64_t> si = i;
    si[d] = static_cast<int64_t>(get(index, i));
    int64_t f = 0;
    for (size_t k = 0; k < shape.size(); ++k) f = f * shape[k] + si[k];
    double& o = out[static_cast<size_t>(f)];
    o = add ? o + src(i) : src(i);
  });
  return out;
}
}  // namespace

TEST_CASE("scatter with a tensor and with a scalar") {
  std::mt19937 rng(202);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}, Shape{2, 0}}) {
      for (Layout layout : all_layouts()) {
        const Tensor self = random_tensor(shape, dtype, rng, layout);
        const std::vector<double> before = values(self);
        const int64_t nd = self.dim();
        for (int64_t dim = -nd; dim < nd; ++dim) {
          const int64_t d = dim < 0 ? dim + nd : dim;
          Shape is = shape;
          for (int64_t k = 0; k < nd; ++k) is[k] = int64_t(rng() % (shape[k] + 1));
          Shape ss = is;  // src may be larger than index
          for (int64_t& s : ss) s += rng() % 2;
          const Tensor index = unique_index(self, d, is, all_layouts()[rng() % 3], rng);
          const Tensor src = random_tensor(ss, dtype, rng, all_layouts()[rng() % 3]);
          const std::string what = "scatter " + describe(shape, dtype, layout, dim) + " index " + shape_str(is);
          const Tensor out = self.scatter(dim, index, src);
          CHECK_MESSAGE(out.dtype() == dtype, what);
          expect_values(out, shape, ref_scatter(before, shape, d, index, [&](const auto& i) { return get(src, i); }, false),
                        0.0, what);
          CHECK_MESSAGE(same_values(values(self), before), (what + ": input modified"));
          const double v = dtype == DType::Bool ? 1.0 : 3.0;
          const Tensor outv = dtype == DType::Bool ? self.scatter(dim, index, true) : self.scatter(dim, index, 3);
          expect_values(outv, shape, ref_scatter(before, shape, d, index, [&](const auto&) { return v; }, false),
                        0.0, what + " scalar");
          // In place.
          Tensor inplace = self.clone();
          Tensor& r = inplace.scatter_(dim, index, src);
          CHECK(r.is_same(inplace));
          CHECK(values(inplace) == values(out));
        }
      }
    }
  }
  // A float scalar into a float tensor keeps its fraction.
  const Tensor f = zeros({3});
  CHECK(values(f.scatter(0, from_vector(std::vector<int64_t>{2}), 2.5)) == std::vector<double>{0, 0, 2.5});
  const std::string msg = error_message([] {
    (void)zeros({2, 3}).scatter(1, from_vector(std::vector<int64_t>{4}, Shape{1, 1}), zeros({1, 1}));
  });
  CHECK(msg.find("out of bounds") != std::string::npos);
  CHECK(msg.find("index 4") != std::string::npos);
  CHECK(error_message([] { (void)zeros({2}).scatter(0, zeros({1}, {.dtype = kInt64}), zeros({1}, {.dtype = kFloat64})); })
            .find("dtype") != std::string::npos);
}

TEST_CASE("scatter_add accumulates duplicate indices") {
  std::mt19937 rng(203);
  for (DType dtype : all_dtypes()) {
    if (dtype == DType::Bool) continue;
    for (const Shape& shape : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
      for (Layout layout : all_layouts()) {
        const Tensor self = random_tensor(shape, dtype, rng, layout);
        const int64_t nd = self.dim();
        for (int64_t dim = -nd; dim < nd; ++dim) {
          const int64_t d = dim < 0 ? dim + nd : dim;
          Shape is = shape;
          for (int64_t k = 0; k < nd; ++k) is[k] = k == d ? 2 + int64_t(rng() % 6) : int64_t(rng() % (shape[k] + 1));
          // Few distinct targets: duplicates along every line.
          const Tensor index = index_tensor(is, all_layouts()[rng() % 3], rng,
                                            [&](const auto&) { return int64_t(rng() % std::min<int64_t>(2, shape[d])); });
          const Tensor src = random_tensor(is, dtype, rng, all_layouts()[rng() % 3]);
          std::vector<double> abs_self = values(self);
          for (double& s : abs_self) s = std::abs(s);
          const std::vector<double> expected =
              ref_scatter(values(self), shape, d, index, [&](const auto& i) { return get(src, i); }, true);
          const std::vector<double> sc =
              ref_scatter(abs_self, shape, d, index, [&](const auto& i) { return std::abs(get(src, i)); }, true);
          const std::string what = "scatter_add " + describe(shape, dtype, layout, dim) + " index " + shape_str(is);
          const Tensor out = self.scatter_add(dim, index, src);
          CHECK_MESSAGE(out.dtype() == dtype, what);
          // Each addition rounds in the dtype: up to 7 roundings.
          expect_values(out, shape, expected, 4 * tolerance(dtype), what, &sc);
          Tensor inplace = self.clone();
          inplace.scatter_add_(dim, index, src);
          CHECK(values(inplace) == values(out));
        }
      }
    }
  }
  const Tensor acc = zeros({3}).scatter_add(0, from_vector(std::vector<int64_t>{1, 1, 1, 0}), ones({4}));
  CHECK(values(acc) == std::vector<double>{1, 3, 0});
  CHECK(error_message([] { (void)zeros({3}).scatter_add(0, from_vector(std::vector<int64_t>{3}), ones({1})); })
            .find("out of bounds") != std::string::npos);
}

TEST_CASE("index_add with alpha") {
  std::mt19937 rng(204);
  for (DType dtype : all_dtypes()) {
    if (dtype == DType::Bool) continue;
    const bool fl = is_floating(dtype);
    for (const Shape& shape : {Shape{5}, Shape{5, 3}, Shape{2, 4, 3}}) {
      for (Layout layout : all_layouts()) {
        const Tensor self = random_tensor(shape, dtype, rng, layout);
        const int64_t nd = self.dim();
        for (int64_t dim = -nd; dim < nd; ++dim) {
          const int64_t d = dim < 0 ? dim + nd : dim;
          const int64_t len = int64_t(rng() % 6);
          const Tensor index =
              index_tensor({len}, Layout::Contiguous, rng, [&](const auto&) { return int64_t(rng() % shape[d]); });
          Shape ss = shape;
          ss[d] = len;
          const Tensor source = random_tensor(ss, dtype, rng, all_layouts()[rng() % 3]);
          for (double alpha : fl ? std::vector<double>{1.0, 2.5, -0.5} : std::vector<double>{1.0, 2.0, -1.0}) {
            if (dtype == DType::UInt8 && alpha < 0) continue;
            std::vector<double> expected = values(self), sc = values(self);
            for (double& s : sc) s = std::abs(s);
            for_each_index(ss, [&](const std::vector<int64_t>& i) {
              std::vector<int64_t> si = i;
              si[d] = static_cast<int64_t>(get(index, {i[d]}));
              int64_t f = 0;
              for (int64_t k = 0; k < nd; ++k) f = f * shape[k] + si[k];
              const double v = as_dtype(alpha * get(source, i), dtype);  // alpha * source in the dtype
              expected[static_cast<size_t>(f)] += v;
              sc[static_cast<size_t>(f)] += std::abs(v);
            });
            std::ostringstream what;
            what << "index_add " << describe(shape, dtype, layout, dim) << " len " << len << " alpha " << alpha;
            const Tensor out = fl ? self.index_add(dim, index, source, alpha)
                                  : self.index_add(dim, index, source, static_cast<int64_t>(alpha));
            CHECK_MESSAGE(out.dtype() == dtype, what.str());
            expect_values(out, shape, expected, 4 * tolerance(dtype), what.str(), &sc);
          }
        }
      }
    }
  }
  const Tensor x = zeros({3, 2});
  const Tensor r = x.index_add(0, from_vector(std::vector<int64_t>{0, 2, 0}), ones({3, 2}), 2);
  CHECK(values(r) == std::vector<double>{4, 4, 0, 0, 2, 2});
  CHECK(values(x) == std::vector<double>(6, 0.0));
  const std::string msg = error_message([&] { (void)x.index_add(0, from_vector(std::vector<int64_t>{3}), ones({1, 2})); });
  CHECK(msg.find("out of bounds") != std::string::npos);
  CHECK_THROWS_AS((void)x.index_add(0, from_vector(std::vector<int64_t>{0}), ones({1, 3})), Error);  // shape
  // Source must have self's dtype (alpha is applied in it, so int8 * 100 cannot wrap early).
  CHECK(error_message([&] {
          (void)x.index_add(0, from_vector(std::vector<int64_t>{0}), ones({1, 2}, {.dtype = kInt8}), 100);
        }).find("must have the same dtype") != std::string::npos);
  const Tensor i8 = zeros({2}, {.dtype = kInt8});
  CHECK(values(i8.index_add(0, from_vector(std::vector<int64_t>{1}), full({1}, 2, {.dtype = kInt8}), 3)) ==
        std::vector<double>({0, 6}));
}

// ---- masks ----------------------------------------------------------------------------------

TEST_CASE("masked_fill with broadcast masks") {
  std::mt19937 rng(300);
  for (DType dtype : all_dtypes()) {
    for (Layout layout : all_layouts()) {
      const Tensor x = random_tensor({3, 4}, dtype, rng, layout);
      const std::vector<double> before = values(x);
      for (const Shape& ms : {Shape{3, 4}, Shape{4}, Shape{3, 1}, Shape{1, 1}, Shape{}}) {
        const Tensor mask = random_tensor(ms, DType::Bool, rng, all_layouts()[rng() % 3]);
        for (int variant = 0; variant < 2; ++variant) {
          double v;
          Tensor out;
          if (dtype == DType::Bool) {
            v = variant;
            out = x.masked_fill(mask, variant == 1);
          } else if (is_floating(dtype)) {
            v = variant ? -kInf : 2.5;
            out = x.masked_fill(mask, v);
          } else {
            v = variant ? 0 : 7;
            out = x.masked_fill(mask, static_cast<int64_t>(v));
          }
          std::vector<double> expected;
          for_each_index({3, 4}, [&](const std::vector<int64_t>& i) {
            std::vector<int64_t> mi;
            for (size_t k = 0; k < ms.size(); ++k) mi.push_back(ms[k] == 1 ? 0 : i[i.size() - ms.size() + k]);
            expected.push_back(get(mask, mi) != 0 ? v : get(x, i));
          });
          const std::string what = "masked_fill " + std::string(dtype_name(dtype)) + " " + layout_name(layout) +
                                   " mask " + shape_str(ms);
          CHECK_MESSAGE(out.dtype() == dtype, what);
          expect_values(out, {3, 4}, expected, 0.0, what);
          CHECK_MESSAGE(same_values(values(x), before), (what + ": input modified"));
          Tensor inplace = x.clone();
          if (dtype == DType::Bool) inplace.masked_fill_(mask, variant == 1);
          else if (is_floating(dtype)) inplace.masked_fill_(mask, v);
          else inplace.masked_fill_(mask, static_cast<int64_t>(v));
          expect_values(inplace, {3, 4}, expected, 0.0, what + " in place");
        }
      }
    }
  }
  CHECK_THROWS_AS((void)zeros({3}, {.dtype = kInt32}).masked_fill(ones({3}, {.dtype = kBool}), 2.5), Error);
  CHECK(error_message([] { (void)zeros({3}).masked_fill(ones({3}), 1.0); }).find("bool") != std::string::npos);
  CHECK_THROWS_AS((void)zeros({3}).masked_fill(ones({2, 3}, {.dtype = kBool}), 1.0), Error);  // mask larger
}

TEST_CASE("masked_select with broadcast mask and input") {
  std::mt19937 rng(301);
  for (DType dtype : all_dtypes()) {
    for (Layout layout : all_layouts()) {
      for (const auto& [xs, ms] : {std::pair<Shape, Shape>{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 4}, {3, 1}},
                                   {{4}, {3, 4}}, {{2, 1, 3}, {4, 1}}, {{0, 3}, {3}}, {{3}, {}}}) {
        const Tensor x = random_tensor(xs, dtype, rng, layout);
        const Tensor mask = random_tensor(ms, DType::Bool, rng, all_layouts()[rng() % 3]);
        const Shape shape = broadcast_shapes(xs, ms, "test");
        std::vector<double> expected;
        for_each_index(shape, [&](const std::vector<int64_t>& i) {
          auto pick = [&](const Shape& s) {
            std::vector<int64_t> r;
            for (size_t k = 0; k < s.size(); ++k) r.push_back(s[k] == 1 ? 0 : i[i.size() - s.size() + k]);
            return r;
          };
          if (get(mask, pick(ms)) != 0) expected.push_back(get(x, pick(xs)));
        });
        const std::string what = "masked_select " + std::string(dtype_name(dtype)) + " " + layout_name(layout) +
                                 " x " + shape_str(xs) + " mask " + shape_str(ms);
        const Tensor out = x.masked_select(mask);
        CHECK_MESSAGE(out.dtype() == dtype, what);
        expect_values(out, {static_cast<int64_t>(expected.size())}, expected, 0.0, what);
      }
    }
  }
  CHECK(error_message([] { (void)zeros({3}).masked_select(ones({3}, {.dtype = kUInt8})); }).find("bool") !=
        std::string::npos);
  CHECK_THROWS_AS((void)zeros({3}).masked_select(ones({2}, {.dtype = kBool})), Error);
}

TEST_CASE("one_hot") {
  std::mt19937 rng(302);
  for (Layout layout : all_layouts()) {
    for (const Shape& shape : {Shape{}, Shape{6}, Shape{2, 3}}) {
      const Tensor idx = index_tensor(shape, layout, rng, [&](const auto&) { return int64_t(rng() % 5); });
      int64_t mx = 0;
      for (double v : values(idx)) mx = std::max<int64_t>(mx, static_cast<int64_t>(v));
      for (int64_t classes : {int64_t{-1}, int64_t{7}, mx + 1}) {
        const int64_t c = classes == -1 ? mx + 1 : classes;
        Shape out_shape = shape;
        out_shape.push_back(c);
        std::vector<double> expected;
        for_each_index(out_shape, [&](const std::vector<int64_t>& i) {
          const std::vector<int64_t> ii(i.begin(), i.end() - 1);
          expected.push_back(static_cast<int64_t>(get(idx, ii)) == i.back() ? 1.0 : 0.0);
        });
        const std::string what = "one_hot " + shape_str(shape) + " " + layout_name(layout) + " classes " +
                                 std::to_string(classes);
        const Tensor out = one_hot(idx, classes);
        CHECK_MESSAGE(out.dtype() == DType::Int64, what);
        expect_values(out, out_shape, expected, 0.0, what);
      }
    }
  }
  CHECK(one_hot(zeros({0}, {.dtype = kInt64}), 4).sizes() == IntArrayRef{0, 4});
  CHECK_THROWS_AS((void)one_hot(zeros({0}, {.dtype = kInt64})), Error);
  CHECK(error_message([] { (void)one_hot(from_vector(std::vector<int64_t>{1, -1}), 3); }).find("non-negative") !=
        std::string::npos);
  CHECK(error_message([] { (void)one_hot(from_vector(std::vector<int64_t>{1, -2})); }).find("non-negative") !=
        std::string::npos);
  CHECK(error_message([] { (void)one_hot(from_vector(std::vector<int64_t>{1, 3}), 3); }).find("smaller than") !=
        std::string::npos);
  CHECK_THROWS_AS((void)one_hot(from_vector(std::vector<int32_t>{1})), Error);
}

// ---- topk / sort ----------------------------------------------------------------------------

namespace {
// Positions of a line in sorted order: NaN above every number (first when descending, last
// when ascending), ties by position.
std::vector<int64_t> ref_order(const std::vector<double>& v, bool descending) {
  std::vector<int64_t> o(v.size());
  std::iota(o.begin(), o.end(), int64_t{0});
  std::stable_sort(o.begin(), o.end(), [&](int64_t a, int64_t b) {
    const double x = v[static_cast<size_t>(a)], y = v[static_cast<size_t>(b)];
    const bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn || yn) return descending ? xn && !yn : !xn && yn;
    return descending ? x > y : x < y;
  });
  return o;
}

// Expected values and indices of topk(k, d, largest) (sort: k = n).
void ref_topk(const Tensor& x, int64_t d, int64_t k, bool largest, Shape& shape, std::vector<double>& vals,
              std::vector<double>& idxs) {
  const Tensor xx = x.dim() == 0 ? x.view({1}) : x;
  shape = x.sizes().vec();
  if (x.dim()) shape[d] = k;
  Shape full = xx.sizes().vec();
  full[d] = k;
  std::map<std::vector<int64_t>, std::pair<std::vector<double>, std::vector<int64_t>>> lines;
  for_each_index(full, [&](const std::vector<int64_t>& i) {
    std::vector<int64_t> key = i;
    key[d] = 0;
    auto it = lines.find(key);
    if (it == lines.end()) {
      std::vector<double> line;
      for (int64_t j = 0; j < xx.size(d); ++j) {
        std::vector<int64_t> xi = i;
        xi[d] = j;
        line.push_back(get(xx, xi));
      }
      it = lines.emplace(key, std::pair{line, ref_order(line, largest)}).first;
    }
    const int64_t pos = it->second.second[static_cast<size_t>(i[d])];
    vals.push_back(it->second.first[static_cast<size_t>(pos)]);
    idxs.push_back(static_cast<double>(pos));
  });
}

// Random values with many ties (and NaN for floats).
Tensor tied_tensor(IntArrayRef shape, DType dtype, std::mt19937& rng, Layout layout) {
  Tensor x = random_tensor(shape, dtype, rng, layout);
  for_each_index(shape, [&](const std::vector<int64_t>& i) {
    const unsigned r = rng() % 8;
    if (r < 3) set(x, i, static_cast<double>(rng() % 3));
    if (r == 3 && is_floating(dtype)) set(x, i, kNaN);
    if (r == 4 && is_floating(dtype)) set(x, i, rng() % 2 ? kInf : -kInf);
  });
  return x;
}
}  // namespace

TEST_CASE("topk: largest and smallest, every k, ties by lower index, NaN as PyTorch") {
  std::mt19937 rng(400);
  for (DType dtype : all_dtypes()) {
    if (dtype == DType::Bool) continue;  // PyTorch has no bool topk
    for (const Shape& shape : {Shape{}, Shape{7}, Shape{3, 5}, Shape{2, 3, 4}, Shape{0}, Shape{2, 0}}) {
      for (Layout layout : all_layouts()) {
        const Tensor x = tied_tensor(shape, dtype, rng, layout);
        const int64_t nd = x.dim();
        for (int64_t dim = -std::max<int64_t>(nd, 1); dim < std::max<int64_t>(nd, 1); ++dim) {
          const int64_t d = dim < 0 ? dim + std::max<int64_t>(nd, 1) : dim;
          const int64_t n = nd ? x.size(d) : 1;
          for (int64_t k : {int64_t{0}, int64_t{1}, n / 2, n}) {
            if (k > n || (nd == 0 && k == 0)) continue;  // (PyTorch's topk(0) of a 0-dim tensor is odd)
            for (bool largest : {true, false}) {
              Shape want;
              std::vector<double> ev, ei;
              ref_topk(x, d, k, largest, want, ev, ei);
              const std::string what = "topk " + describe(shape, dtype, layout, dim) + " k " + std::to_string(k) +
                                       (largest ? " largest" : " smallest");
              auto [v, i] = x.topk(k, dim, largest);
              CHECK_MESSAGE(v.dtype() == dtype, what);
              CHECK_MESSAGE(i.dtype() == DType::Int64, what);
              expect_values(v, want, ev, 0.0, what + " values");
              expect_values(i, want, ei, 0.0, what + " indices");
            }
          }
        }
      }
    }
  }
  // The PyTorch example: NaN is the largest value.
  const Tensor x = from_vector(std::vector<float>{1, NAN, 3, NAN, 0});
  auto [v, i] = x.topk(3);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, 3, 2});
  CHECK(v.to_vector<float>()[2] == 3.0f);
  auto [vs, is] = x.topk(3, 0, false);
  CHECK(is.to_vector<int64_t>() == std::vector<int64_t>{4, 0, 2});
  CHECK(vs.to_vector<float>() == std::vector<float>{0, 1, 3});
  const std::string msg = error_message([] { (void)zeros({3}).topk(4); });
  CHECK(msg.find("topk") == 0);
  CHECK(msg.find("out of range") != std::string::npos);
  CHECK_THROWS_AS((void)zeros({3}).topk(-1), Error);
  CHECK_THROWS_AS((void)zeros({3}).topk(1, 1), Error);
}

TEST_CASE("sort and argsort: ascending, descending, stable, along any dim") {
  std::mt19937 rng(401);
  for (DType dtype : all_dtypes()) {
    for (const Shape& shape : {Shape{}, Shape{9}, Shape{4, 3}, Shape{2, 3, 4}, Shape{0}, Shape{3, 0}}) {
      for (Layout layout : all_layouts()) {
        const Tensor x = tied_tensor(shape, dtype, rng, layout);
        const std::vector<double> before = values(x);
        const int64_t nd = x.dim();
        for (int64_t dim = -std::max<int64_t>(nd, 1); dim < std::max<int64_t>(nd, 1); ++dim) {
          const int64_t d = dim < 0 ? dim + std::max<int64_t>(nd, 1) : dim;
          const int64_t n = nd ? x.size(d) : 1;
          for (bool descending : {false, true}) {
            Shape want;
            std::vector<double> ev, ei;
            ref_topk(x, d, n, descending, want, ev, ei);
            const std::string what = "sort " + describe(shape, dtype, layout, dim) + (descending ? " desc" : " asc");
            auto [v, i] = x.sort(dim, descending, /*stable=*/true);
            CHECK_MESSAGE(v.dtype() == dtype, what);
            expect_values(v, want, ev, 0.0, what + " values");
            expect_values(i, want, ei, 0.0, what + " indices");
            expect_values(x.argsort(dim, descending, true), want, ei, 0.0, what + " argsort");
            // Not asked to be stable: the values are still sorted and the indices point at them.
            auto [v2, i2] = x.sort(dim, descending, /*stable=*/false);
            expect_values(v2, want, ev, 0.0, what + " unstable values");
            if (x.numel() > 0 && i2.sizes() == IntArrayRef(want)) {
              const Tensor xx = nd ? x : x.view({1});
              const Tensor ii = nd ? i2 : i2.view({1});
              bool ok = true;
              for_each_index(ii.sizes(), [&](const std::vector<int64_t>& j) {
                std::vector<int64_t> xj = j;
                xj[d] = static_cast<int64_t>(get(ii, j));
                const double a = get(xx, xj), b = get(nd ? v2 : v2.view({1}), j);
                ok = ok && (a == b || (std::isnan(a) && std::isnan(b)));
              });
              CHECK_MESSAGE(ok, (what + " unstable indices"));
            }
            CHECK_MESSAGE(same_values(values(x), before), (what + ": input modified"));
          }
        }
      }
    }
  }
  // Along dim 0 of a 2-D tensor, by hand.
  const Tensor m = from_vector(std::vector<int64_t>{3, 1, 1, 2, 3, 0}, Shape{3, 2});  // [[3,1],[1,2],[3,0]]
  auto [v, i] = m.sort(0);
  CHECK(v.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 3, 1, 3, 2});
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 0, 0, 2, 1});
  auto [vd, id] = m.sort(0, true, true);
  CHECK(vd.to_vector<int64_t>() == std::vector<int64_t>{3, 2, 3, 1, 1, 0});
  CHECK(id.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 0, 1, 2});
  CHECK(m.argsort(-1).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 1, 1, 0});
}

TEST_CASE("in-place scatter_, scatter_add_, index_add_ and masked_fill_ on non-contiguous views") {
  std::mt19937 rng(500);
  for (DType dtype : {DType::Float32, DType::Int16, DType::BFloat16, DType::Float64}) {
    for (Layout layout : {Layout::Transposed, Layout::Strided}) {
      const Shape shape = {4, 5};
      const std::string what = std::string(dtype_name(dtype)) + " " + layout_name(layout);
      auto fresh = [&](const Tensor& like) {  // same values, same (non-contiguous) layout
        Tensor t = random_tensor(shape, dtype, rng, layout);
        for_each_index(shape, [&](const std::vector<int64_t>& i) { set(t, i, get(like, i)); });
        return t;
      };
      const Tensor x = random_tensor(shape, dtype, rng, layout);
      const std::vector<double> before = values(x);
      for (int64_t d : {0, 1}) {
        const Tensor index = unique_index(x, d, {3, 3}, Layout::Transposed, rng);
        const Tensor src = random_tensor({3, 3}, dtype, rng, Layout::Strided);
        Tensor t = fresh(x);
        REQUIRE_FALSE(t.is_contiguous());
        t.scatter_(d, index, src);
        expect_values(t, shape, ref_scatter(before, shape, d, index, [&](const auto& i) { return get(src, i); }, false),
                      0.0, "scatter_ " + what);
        Tensor u = fresh(x);
        u.scatter_add_(d, index, src);
        expect_values(u, shape, ref_scatter(before, shape, d, index, [&](const auto& i) { return get(src, i); }, true),
                      2 * tolerance(dtype), "scatter_add_ " + what);
        const Tensor idx = from_vector(std::vector<int64_t>{3, 0, 3});
        Shape ss = shape;
        ss[d] = 3;
        const Tensor source = random_tensor(ss, dtype, rng, Layout::Transposed);
        Tensor w = fresh(x);
        w.index_add_(d, idx, source);
        std::vector<double> expected = before;
        for_each_index(ss, [&](const std::vector<int64_t>& i) {
          std::vector<int64_t> wi = i;
          wi[d] = static_cast<int64_t>(get(idx, {i[d]}));
          expected[static_cast<size_t>(wi[0] * shape[1] + wi[1])] += get(source, i);
        });
        expect_values(w, shape, expected, 2 * tolerance(dtype), "index_add_ " + what);
      }
      const Tensor mask = random_tensor({5}, DType::Bool, rng, Layout::Strided);
      Tensor m = fresh(x);
      m.masked_fill_(mask, 1);
      std::vector<double> expected;
      for_each_index(shape, [&](const std::vector<int64_t>& i) {
        expected.push_back(get(mask, {i[1]}) != 0 ? 1.0 : get(x, i));
      });
      expect_values(m, shape, expected, 0.0, "masked_fill_ " + what);
    }
  }
}

TEST_CASE("index errors raised inside parallel loops are fulgur::Errors") {
  // 40000 lines: the gather/scatter kernels split them across threads.
  const Tensor x = zeros({40000, 2});
  Tensor index = zeros({40000, 1}, {.dtype = kInt64});
  set(index, {31234, 0}, 2.0);
  const std::string msg = error_message([&] { (void)x.gather(1, index); });
  CHECK(msg.find("out of bounds") != std::string::npos);
  CHECK(msg.find("index 2") != std::string::npos);
  CHECK(error_message([&] { (void)x.scatter(1, index, 1.0); }).find("out of bounds") != std::string::npos);
  CHECK(error_message([&] { (void)x.scatter_add(1, index, ones({40000, 1})); }).find("out of bounds") !=
        std::string::npos);
  set(index, {31234, 0}, 1.0);
  CHECK(x.gather(1, index).sizes() == IntArrayRef{40000, 1});
}

TEST_CASE("topk and sort over many rows (parallel) match the reference") {
  std::mt19937 rng(501);
  for (DType dtype : {DType::Float32, DType::Int32, DType::Float16}) {
    const Tensor x = tied_tensor({1500, 6}, dtype, rng, Layout::Transposed);
    for (int64_t dim : {0, 1}) {
      const int64_t n = x.size(dim);
      for (int64_t k : {int64_t{2}, n}) {
        Shape want;
        std::vector<double> ev, ei;
        ref_topk(x, dim, k, true, want, ev, ei);
        auto [v, i] = x.topk(k, dim);
        const std::string what = "big topk " + std::string(dtype_name(dtype)) + " dim " + std::to_string(dim) +
                                 " k " + std::to_string(k);
        expect_values(v, want, ev, 0.0, what);
        expect_values(i, want, ei, 0.0, what);
      }
    }
    Shape want;
    std::vector<double> ev, ei;
    ref_topk(x, 1, 6, false, want, ev, ei);
    auto [v, i] = x.sort(1);
    expect_values(v, want, ev, 0.0, "big sort");
    expect_values(i, want, ei, 0.0, "big sort indices");
  }
}
