// View ops: shapes, strides and offsets as PyTorch computes them, aliasing of the base
// storage, and copies only where no view exists.
#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

// A tensor whose element at row-major position i holds i.
Tensor iota(IntArrayRef shape, DType dtype = kFloat32) {
  Tensor t = empty(shape, {.dtype = dtype});
  int64_t i = 0;
  for_each_index(shape, [&](const std::vector<int64_t>& idx) { set(t, idx, static_cast<double>(i++)); });
  return t;
}

bool shares_storage(const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); }

}  // namespace

TEST_CASE("view and reshape follow PyTorch's stride rules") {
  Tensor x = iota({2, 3, 4});
  Tensor v = x.view({6, 4});
  CHECK(v.strides() == IntArrayRef({4, 1}));
  CHECK(shares_storage(v, x));
  CHECK(x.view({-1}).sizes() == IntArrayRef({24}));
  CHECK(x.view({2, -1, 2}).sizes() == IntArrayRef({2, 6, 2}));

  // A transposed tensor cannot be flattened by a view, but reshape copies.
  Tensor t = x.transpose(1, 2);  // [2, 4, 3], strides [12, 1, 4]
  CHECK(t.strides() == IntArrayRef({12, 1, 4}));
  const std::string msg = error_message([&] { (void)t.view({-1}); });
  CHECK(msg.find("view") != std::string::npos);
  CHECK(msg.find("[2, 4, 3]") != std::string::npos);
  CHECK(msg.find("reshape") != std::string::npos);
  Tensor r = t.reshape({-1});
  CHECK_FALSE(shares_storage(r, x));
  CHECK(values(r) == values(t.contiguous()));
  // ...but splitting only dims that are contiguous among themselves is a view.
  Tensor s = t.view({2, 2, 2, 3});
  CHECK(shares_storage(s, x));
  CHECK(s.strides() == IntArrayRef({12, 2, 1, 4}));

  CHECK(error_message([&] { (void)x.view({5, -1}); }).find("invalid for input of size 24") != std::string::npos);
  CHECK(error_message([&] { (void)x.view({-1, -1}); }).find("only one dimension") != std::string::npos);
  // Empty tensors reshape freely.
  CHECK(zeros({0, 3}).view({3, 0, 5}).sizes() == IntArrayRef({3, 0, 5}));
  // 0-dim <-> one element.
  Tensor scalar = full({}, 7.0);
  CHECK(scalar.view({1, 1}).sizes() == IntArrayRef({1, 1}));
  CHECK(scalar.view({1, 1}).view({}).item<double>() == 7.0);
}

TEST_CASE("flatten, squeeze and unsqueeze") {
  Tensor x = iota({2, 1, 3, 1});
  CHECK(x.flatten().sizes() == IntArrayRef({6}));
  CHECK(x.flatten(1, 2).sizes() == IntArrayRef({2, 3, 1}));
  CHECK(full({}, 1.0).flatten().sizes() == IntArrayRef({1}));
  CHECK(x.squeeze().sizes() == IntArrayRef({2, 3}));
  CHECK(x.squeeze(1).sizes() == IntArrayRef({2, 3, 1}));
  CHECK(x.squeeze(0).sizes() == IntArrayRef({2, 1, 3, 1}));  // size 2: unchanged
  CHECK(x.squeeze(-1).sizes() == IntArrayRef({2, 1, 3}));
  Tensor y = iota({2, 3});
  CHECK(y.unsqueeze(0).sizes() == IntArrayRef({1, 2, 3}));
  CHECK(y.unsqueeze(-1).sizes() == IntArrayRef({2, 3, 1}));
  CHECK(y.unsqueeze(1).strides() == IntArrayRef({3, 3, 1}));
  CHECK(error_message([&] { (void)y.unsqueeze(4); }).find("[-3, 2]") != std::string::npos);
  CHECK(shares_storage(y.unsqueeze(2), y));
}

TEST_CASE("permute, transpose and t alias the input") {
  Tensor x = iota({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.sizes() == IntArrayRef({4, 2, 3}));
  CHECK(p.strides() == IntArrayRef({1, 12, 4}));
  CHECK(get(p, {3, 1, 2}) == get(x, {1, 2, 3}));
  CHECK(x.permute({-1, 0, 1}).sizes() == p.sizes());
  CHECK(error_message([&] { (void)x.permute({0, 0, 1}); }).find("more than once") != std::string::npos);
  CHECK(error_message([&] { (void)x.permute({0, 1}); }).find("doesn't match") != std::string::npos);
  Tensor m = iota({3, 5});
  CHECK(m.t().sizes() == IntArrayRef({5, 3}));
  CHECK(get(m.t(), {4, 2}) == get(m, {2, 4}));
  CHECK(iota({4}).t().sizes() == IntArrayRef({4}));
  CHECK(error_message([&] { (void)x.t(); }).find("<= 2 dimensions") != std::string::npos);
  // Writing through a view changes the base.
  p.select(0, 3).select(0, 1).fill_(-1);
  CHECK(get(x, {1, 0, 3}) == -1);
  CHECK(get(x, {1, 2, 3}) == -1);
  CHECK(get(x, {1, 2, 2}) == 22);
}

TEST_CASE("expand broadcasts with stride 0") {
  Tensor x = iota({3, 1});
  Tensor e = x.expand({2, 3, 4});
  CHECK(e.sizes() == IntArrayRef({2, 3, 4}));
  CHECK(e.strides() == IntArrayRef({0, 1, 0}));
  CHECK(get(e, {1, 2, 3}) == 2);
  CHECK(x.expand({-1, 5}).sizes() == IntArrayRef({3, 5}));
  CHECK(full({}, 2.0).expand({2, 2}).sum().item<double>() == 8.0);
  const std::string msg = error_message([&] { (void)x.expand({4, 4}); });
  CHECK(msg.find("expand") != std::string::npos);
  CHECK(msg.find("(4) must match the existing size (3)") != std::string::npos);
  CHECK(error_message([&] { (void)x.expand({-1, 3, 1}); }).find("-1") != std::string::npos);
  // In-place ops refuse to write into overlapping (expanded) memory.
  CHECK(error_message([&] { e.fill_(1); }).find("single memory location") != std::string::npos);
  Tensor a = iota({2, 3});
  CHECK(a.expand_as(zeros({4, 2, 3})).sizes() == IntArrayRef({4, 2, 3}));
}

TEST_CASE("narrow, slice, select and indexing") {
  Tensor x = iota({4, 6});
  Tensor n = x.narrow(1, 2, 3);
  CHECK(n.sizes() == IntArrayRef({4, 3}));
  CHECK(n.storage_offset() == 2);
  CHECK(get(n, {1, 0}) == 8);
  CHECK(x.narrow(0, -2, 2).storage_offset() == 12);
  CHECK(error_message([&] { (void)x.narrow(1, 4, 3); }).find("exceeds dimension size (6)") != std::string::npos);

  Tensor s = x.slice(1, 1, std::nullopt, 2);  // columns 1, 3, 5
  CHECK(s.sizes() == IntArrayRef({4, 3}));
  CHECK(s.strides() == IntArrayRef({6, 2}));
  CHECK(values(s.select(0, 0)) == std::vector<double>({1, 3, 5}));
  CHECK(x.slice(0, -10, 100).sizes() == IntArrayRef({4, 6}));  // clamped like Python
  CHECK(x.slice(0, 3, 1).sizes() == IntArrayRef({0, 6}));
  CHECK(x.slice(1, -2).sizes() == IntArrayRef({4, 2}));

  CHECK(x.select(0, -1).storage_offset() == 18);
  CHECK(x[2].sizes() == IntArrayRef({6}));
  CHECK(x[2][3].item<double>() == 15);
  CHECK(x[2][3].dim() == 0);
  const std::string msg = error_message([&] { (void)x.select(1, 6); });
  CHECK(msg.find("index 6 is out of bounds for dimension 1 with size 6") != std::string::npos);
  CHECK(error_message([&] { (void)full({}, 1.0).select(0, 0); }).find("0-dim") != std::string::npos);
}

TEST_CASE("as_strided checks the storage bounds") {
  Tensor base = iota({10});
  Tensor w = base.as_strided({4, 3}, {2, 1});  // sliding windows
  CHECK(values(w[3]) == std::vector<double>({6, 7, 8}));
  CHECK(base.as_strided({2}, {1}, 8).sum().item<double>() == 17);
  CHECK(error_message([&] { (void)base.as_strided({4, 3}, {3, 1}); }).find("storage holds 10") !=
        std::string::npos);
  CHECK(base.as_strided({0, 100}, {100, 1}).numel() == 0);
}

TEST_CASE("split, chunk and unbind return views") {
  Tensor x = iota({7, 2});
  auto parts = x.split(3);
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].sizes() == IntArrayRef({1, 2}));
  CHECK(shares_storage(parts[1], x));
  CHECK(get(parts[1], {0, 1}) == 7);
  auto sized = x.split_with_sizes({2, 5});
  CHECK(sized[1].sizes() == IntArrayRef({5, 2}));
  CHECK(error_message([&] { (void)x.split_with_sizes({2, 2}); }).find("sum to 4") != std::string::npos);
  auto chunks = x.chunk(3);  // 7 rows in chunks of ceil(7/3) = 3
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].size(0) == 3);
  CHECK(chunks[2].size(0) == 1);
  CHECK(iota({6}).chunk(4).size() == 3);  // as PyTorch: chunks of 2
  auto rows = x.unbind(1);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].sizes() == IntArrayRef({7}));
  CHECK(get(rows[1], {6}) == 13);
}

TEST_CASE("contiguous, clone, copy_ and to") {
  Tensor x = iota({3, 4});
  CHECK(x.contiguous().is_same(x));
  Tensor t = x.t();
  CHECK_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(values(c) == values(t));
  Tensor k = x.clone();
  CHECK_FALSE(shares_storage(k, x));
  k.fill_(0);
  CHECK(get(x, {2, 3}) == 11);

  // copy_ broadcasts the source and converts the dtype.
  Tensor dst = zeros({2, 3}, {.dtype = kInt32});
  dst.copy_(tensor({1.7, -2.2, 3.9}));
  CHECK(values(dst) == std::vector<double>({1, -2, 3, 1, -2, 3}));
  CHECK(error_message([&] { dst.copy_(zeros({3, 3})); }).find("cannot be broadcast") != std::string::npos);
  // Overlapping copy reads before it writes: shift a row left by one.
  Tensor row = iota({6});
  row.narrow(0, 0, 5).copy_(row.narrow(0, 1, 5));
  CHECK(values(row) == std::vector<double>({1, 2, 3, 4, 5, 5}));
  // copy_ into a transposed view writes the right places.
  Tensor target = zeros({4, 3});
  target.t().copy_(x);
  CHECK(values(target) == values(x.t().contiguous()));

  // Conversions: same dtype returns the same tensor unless copy is asked.
  CHECK(x.to(kFloat32).is_same(x));
  CHECK_FALSE(x.to(kFloat32, true).is_same(x));
  CHECK(x.to(kCPU).is_same(x));
  Tensor f = tensor({-1.5, 0.0, 2.5, 300.0, 1e10}).to(kUInt8);
  CHECK(values(f) == std::vector<double>({255, 0, 2, 44, 0}));  // through int64, modular
  CHECK(values(tensor({0.0, -0.0, 0.5, std::nan("")}).to(kBool)) == std::vector<double>({0, 0, 1, 1}));
  CHECK(tensor({65504.0, 70000.0}).to(kFloat16).to(kFloat64).to_vector<double>() ==
        std::vector<double>({65504.0, std::numeric_limits<double>::infinity()}));
}

TEST_CASE("zero-size and 0-dim tensors are legal everywhere") {
  Tensor e = zeros({2, 0, 3});
  CHECK(e.numel() == 0);
  CHECK(e.is_contiguous());
  CHECK(e.transpose(0, 2).contiguous().sizes() == IntArrayRef({3, 0, 2}));
  CHECK(e.add(1).sizes() == IntArrayRef({2, 0, 3}));
  CHECK(e.sum().item<double>() == 0);
  CHECK(e.sum({1}).sizes() == IntArrayRef({2, 3}));
  CHECK(values(e.sum({1})) == std::vector<double>(6, 0.0));
  Tensor s = full({}, 3.0);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.unsqueeze(0).sizes() == IntArrayRef({1}));
  CHECK(s.transpose(0, 0).dim() == 0);
  CHECK(s.mul(s).item<double>() == 9.0);
  CHECK(s.sum({0}).item<double>() == 3.0);
  CHECK(error_message([&] { (void)zeros({2}).item(); }).find("2 elements") != std::string::npos);
  CHECK(error_message([&] { (void)Tensor().dim(); }).find("undefined") != std::string::npos);
}

TEST_CASE("reshape to sizes whose product overflows int64 is an error, not a wrapped count") {
  const int64_t big = int64_t{1} << 40;
  const Tensor x = zeros({4});
  CHECK(contains(error_message([&] { (void)x.reshape({big, big}); }), "overflows int64"));
  CHECK(contains(error_message([&] { (void)x.reshape({big, -1, big}); }), "overflows int64"));
  // An empty tensor takes any shape with a zero in it, however large the other sizes.
  CHECK(zeros({0}).reshape({big, big, 0}).sizes() == Shape{big, big, 0});
}
