// TensorDataset, Subset, ConcatDataset and random_split: contents, the get_batch fast path
// against get() + default_collate, PyTorch's fraction lengths (tools/gen_data_golden.py), the
// properties of the random split, and error messages.
#include <algorithm>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;

namespace {

Value T(DType dtype, Shape sizes, std::vector<double> values) {
  return Value(from_vector(values, sizes).to(dtype));
}

#include "tests/golden/data_golden.inc"

// x[i] = [i, i + 0.5], y[i] = 10 * i.
std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  std::vector<float> x;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(i) + 0.5f);
    y.push_back(10 * i);
  }
  return std::make_shared<data::TensorDataset>(from_vector(x, Shape{n, 2}), from_vector(y));
}

int64_t label_of(const data::Dataset& ds, int64_t i) { return ds.get(i)[1].as_tensor().item<int64_t>(); }

}  // namespace

TEST_CASE("TensorDataset: examples are tuples of row views") {
  auto ds = numbered(5);
  CHECK(ds->size() == 5);
  const Value ex = ds->get(3);
  REQUIRE(ex.is_tuple());
  REQUIRE(ex.size() == 2);
  CHECK(values(ex[0].as_tensor()) == std::vector<double>{3, 3.5});
  CHECK(ex[0].as_tensor().sizes() == Shape{2});
  CHECK(ex[1].as_tensor().dim() == 0);
  CHECK(ex[1].as_tensor().item<int64_t>() == 30);
  // A view: shares the dataset's storage, as t[i] does in PyTorch.
  CHECK(ex[0].as_tensor().storage().get() == ds->tensors()[0].storage().get());
}

TEST_CASE("TensorDataset::get_batch equals get() + default_collate") {
  auto ds = numbered(9);
  const std::vector<int64_t> idx{7, 0, 3, 3, 8};
  const std::optional<Value> fast = ds->get_batch(idx);
  REQUIRE(fast.has_value());
  std::vector<Value> examples;
  for (int64_t i : idx) examples.push_back(ds->get(i));
  const Value slow = data::default_collate(examples);
  REQUIRE(fast->is_list());
  REQUIRE(slow.is_list());
  for (size_t k = 0; k < 2; ++k) {
    CHECK((*fast)[k].as_tensor().dtype() == slow[k].as_tensor().dtype());
    CHECK((*fast)[k].as_tensor().sizes() == slow[k].as_tensor().sizes());
    CHECK(values((*fast)[k].as_tensor()) == values(slow[k].as_tensor()));
  }
  CHECK(values((*fast)[1].as_tensor()) == std::vector<double>{70, 0, 30, 30, 80});
}

TEST_CASE("TensorDataset errors") {
  CHECK(contains(error_message([] { data::TensorDataset(std::vector<Tensor>{}); }), "at least one tensor"));
  std::string msg = error_message([] { data::TensorDataset(zeros({3, 2}), zeros({4})); });
  CHECK(contains(msg, "TensorDataset: Size mismatch between tensors"));
  CHECK(contains(msg, "[3, 2]"));
  CHECK(contains(msg, "[4]"));
  CHECK(contains(error_message([] { data::TensorDataset(zeros({})); }), "0-dimensional"));
  auto ds = numbered(3);
  CHECK(contains(error_message([&] { ds->get(3); }), "index 3 is out of range for a dataset of size 3"));
  CHECK(contains(error_message([&] { ds->get(-1); }), "index -1 is out of range"));
  const std::vector<int64_t> bad{0, 5};
  CHECK(contains(error_message([&] { ds->get_batch(bad); }), "index 5 is out of range"));
}

TEST_CASE("Subset maps indices and keeps the fast path") {
  auto ds = numbered(10);
  data::Subset sub(ds, {9, 2, 4});
  CHECK(sub.size() == 3);
  CHECK(label_of(sub, 0) == 90);
  CHECK(label_of(sub, 2) == 40);
  const std::vector<int64_t> idx{2, 0};
  const std::optional<Value> batch = sub.get_batch(idx);
  REQUIRE(batch.has_value());
  CHECK(values((*batch)[1].as_tensor()) == std::vector<double>{40, 90});
  CHECK(contains(error_message([&] { sub.get(3); }), "Subset::get: index 3 is out of range for a subset of size 3"));
  CHECK(contains(error_message([&] { data::Subset(ds, {0, 10}); }), "indices[1] = 10 is out of range"));
}

TEST_CASE("ConcatDataset: running sizes and lookup") {
  data::ConcatDataset cat({numbered(3), numbered(0), numbered(2)});
  CHECK(cat.size() == 5);
  CHECK(cat.cumulative_sizes() == std::vector<int64_t>{3, 3, 5});
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < cat.size(); ++i) labels.push_back(label_of(cat, i));
  CHECK(labels == std::vector<int64_t>{0, 10, 20, 0, 10});
  CHECK(contains(error_message([&] { cat.get(5); }), "ConcatDataset::get: index 5 is out of range"));
  CHECK(contains(error_message([] { data::ConcatDataset({}); }), "datasets should not be an empty iterable"));
}

TEST_CASE("random_split: fraction lengths match PyTorch") {
  REQUIRE(kSplitGoldens.size() >= 10);
  for (const SplitGolden& g : kSplitGoldens) {
    INFO("n=" << g.n << " fractions " << g.fractions.size());
    CHECK(data::split_lengths(g.n, g.fractions) == g.lengths);
    auto parts = data::random_split(numbered(g.n), g.fractions);
    std::vector<int64_t> sizes;
    for (const auto& p : parts) sizes.push_back(p->size());
    CHECK(sizes == g.lengths);
  }
}

TEST_CASE("random_split: disjoint, complete, reproducible from the seed") {
  auto ds = numbered(50);
  Generator g1(123), g2(123), g3(124);
  auto a = data::random_split(ds, {20, 25, 5}, &g1);
  auto b = data::random_split(ds, {20, 25, 5}, &g2);
  auto c = data::random_split(ds, {20, 25, 5}, &g3);
  std::vector<int64_t> all;
  for (size_t k = 0; k < a.size(); ++k) {
    CHECK(a[k]->indices() == b[k]->indices());
    all.insert(all.end(), a[k]->indices().begin(), a[k]->indices().end());
  }
  CHECK(a[0]->size() == 20);
  CHECK(a[1]->size() == 25);
  CHECK(a[2]->size() == 5);
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(50);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(all == expected);
  CHECK(a[0]->indices() != c[0]->indices());
  // Without a generator: the default one, so manual_seed reproduces the split.
  manual_seed(7);
  auto d = data::random_split(ds, {0.5, 0.5});
  manual_seed(7);
  auto e = data::random_split(ds, {0.5, 0.5});
  CHECK(d[0]->indices() == e[0]->indices());
  // The parts are shuffled, not ranges.
  CHECK(!std::is_sorted(a[1]->indices().begin(), a[1]->indices().end()));
}

TEST_CASE("random_split errors") {
  auto ds = numbered(10);
  std::string msg = error_message([&] { data::random_split(ds, {3, 4}); });
  CHECK(contains(msg, "random_split: Sum of input lengths does not equal the length of the input dataset!"));
  CHECK(contains(msg, "[3, 4] sum to 7 but the dataset has 10"));
  CHECK(contains(msg, "hint"));
  msg = error_message([&] { data::random_split(ds, {1.5, -0.5}); });
  CHECK(contains(msg, "Fraction at index 0 is not between 0 and 1"));
  CHECK(contains(error_message([&] { data::random_split(ds, {0.5, 0.2}); }),
                 "are neither integers nor fractions summing to 1"));
  CHECK(contains(error_message([&] { data::random_split(ds, {12, -2}); }), "negative"));
}
