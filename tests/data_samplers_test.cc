// Samplers: BatchSampler and DistributedSampler (no shuffle) against PyTorch 1.13
// (tools/gen_data_golden.py); the random samplers by their properties (permutations,
// reproducible from the seed, fresh per pass, distributions) since our Philox orders are not
// PyTorch's mt19937 ones; error messages.
#include <algorithm>
#include <map>
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

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("SequentialSampler") {
  data::SequentialSampler s(4);
  CHECK(s.indices() == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(s.size() == 4);
  CHECK(s.generator() == nullptr);
  CHECK(data::SequentialSampler(0).indices().empty());
}

TEST_CASE("BatchSampler matches PyTorch") {
  REQUIRE(kBatchSamplerGoldens.size() >= 20);
  for (const BatchSamplerGolden& g : kBatchSamplerGoldens) {
    INFO("n=" << g.n << " batch_size=" << g.batch_size << " drop_last=" << g.drop_last);
    data::BatchSampler b(std::make_shared<data::SequentialSampler>(g.n), g.batch_size, g.drop_last);
    CHECK(b.batches() == g.batches);
    CHECK(b.size() == static_cast<int64_t>(g.batches.size()));
  }
  auto seq = std::make_shared<data::SequentialSampler>(3);
  CHECK(contains(error_message([&] { data::BatchSampler(seq, 0, false); }),
                 "BatchSampler: batch_size should be a positive integer value, but got batch_size=0"));
  CHECK(contains(error_message([&] { data::BatchSampler(nullptr, 2, false); }), "sampler is null"));
}

TEST_CASE("DistributedSampler without shuffle matches PyTorch (partitions and padding)") {
  REQUIRE(kDistributedGoldens.size() >= 100);
  for (const DistributedGolden& g : kDistributedGoldens) {
    INFO("n=" << g.n << " replicas=" << g.num_replicas << " rank=" << g.rank << " drop_last=" << g.drop_last);
    data::DistributedSampler s(g.n, {.num_replicas = g.num_replicas, .rank = g.rank, .shuffle = false,
                                     .drop_last = g.drop_last});
    CHECK(s.size() == g.len);
    CHECK(s.indices() == g.indices);
  }
}

TEST_CASE("DistributedSampler with shuffle: ranks partition one permutation, set_epoch reshuffles") {
  const int64_t n = 23, replicas = 4;
  auto pass = [&](int64_t epoch, uint64_t seed, bool drop_last) {
    std::vector<std::vector<int64_t>> per_rank;
    for (int64_t r = 0; r < replicas; ++r) {
      data::DistributedSampler s(n, {.num_replicas = replicas, .rank = r, .seed = seed, .drop_last = drop_last});
      s.set_epoch(epoch);
      per_rank.push_back(s.indices());
      CHECK(static_cast<int64_t>(per_rank.back().size()) == s.size());
    }
    return per_rank;
  };
  const auto e0 = pass(0, 5, false);
  // Padded to 24: all 23 indices present, exactly one repeated (the permutation's first).
  std::vector<int64_t> all;
  for (const auto& r : e0) all.insert(all.end(), r.begin(), r.end());
  CHECK(all.size() == 24);
  std::set<int64_t> distinct(all.begin(), all.end());
  CHECK(distinct.size() == 23);
  CHECK(*distinct.begin() == 0);
  CHECK(*distinct.rbegin() == 22);
  CHECK(all.back() == e0[0][0]);  // position 23 of the global order repeats position 0
  CHECK(pass(0, 5, false) == e0);  // reproducible from (seed, epoch)
  CHECK(pass(1, 5, false) != e0);  // set_epoch reshuffles
  CHECK(pass(0, 6, false) != e0);  // the seed matters
  // drop_last: 20 distinct indices, no padding.
  std::vector<int64_t> dropped;
  for (const auto& r : pass(0, 5, true)) dropped.insert(dropped.end(), r.begin(), r.end());
  CHECK(dropped.size() == 20);
  CHECK(std::set<int64_t>(dropped.begin(), dropped.end()).size() == 20);
}

TEST_CASE("DistributedSampler errors") {
  std::string msg = error_message([] { data::DistributedSampler(10, {.num_replicas = 2, .rank = 2}); });
  CHECK(contains(msg, "DistributedSampler: Invalid rank 2, rank should be in the interval [0, 1]"));
  CHECK(contains(error_message([] { data::DistributedSampler(10, {}); }), "num_replicas and rank must be given"));
  CHECK(contains(error_message([] { data::DistributedSampler(10, {.num_replicas = 0, .rank = 0}); }),
                 "num_replicas must be positive"));
}

TEST_CASE("RandomSampler: permutations, reproducible, fresh per pass") {
  Generator g(42);
  data::RandomSampler s(20, {.generator = &g});
  CHECK(s.size() == 20);
  CHECK(s.generator() == &g);
  const std::vector<int64_t> p1 = s.indices();
  const std::vector<int64_t> p2 = s.indices();
  CHECK(sorted(p1) == range(20));
  CHECK(sorted(p2) == range(20));
  CHECK(p1 != p2);
  CHECK(p1 != range(20));
  Generator h(42);
  data::RandomSampler again(20, {.generator = &h});
  CHECK(again.indices() == p1);
  CHECK(again.indices() == p2);

  // Without a generator: one seed from the default generator per pass.
  manual_seed(3);
  data::RandomSampler d(20);
  CHECK(d.generator() == &default_generator());
  const std::vector<int64_t> q1 = d.indices();
  CHECK(default_generator().offset() == 1);
  manual_seed(3);
  CHECK(d.indices() == q1);
}

TEST_CASE("RandomSampler: num_samples and replacement") {
  Generator g(1);
  // Without replacement, more than n: whole permutations, then part of one more.
  data::RandomSampler more(5, {.num_samples = 12, .generator = &g});
  const std::vector<int64_t> v = more.indices();
  REQUIRE(v.size() == 12);
  CHECK(sorted({v.begin(), v.begin() + 5}) == range(5));
  CHECK(sorted({v.begin() + 5, v.begin() + 10}) == range(5));
  CHECK(std::set<int64_t>(v.begin() + 10, v.end()).size() == 2);
  data::RandomSampler fewer(10, {.num_samples = 4, .generator = &g});
  const std::vector<int64_t> f = fewer.indices();
  CHECK(f.size() == 4);
  CHECK(std::set<int64_t>(f.begin(), f.end()).size() == 4);
  // With replacement: values in range, repeats happen.
  data::RandomSampler rep(3, {.replacement = true, .num_samples = 300, .generator = &g});
  const std::vector<int64_t> r = rep.indices();
  CHECK(r.size() == 300);
  std::map<int64_t, int> counts;
  for (int64_t i : r) counts[i]++;
  CHECK(counts.size() == 3);
  for (const auto& [i, c] : counts) {
    CHECK(i >= 0);
    CHECK(i < 3);
    CHECK(c > 60);  // 100 expected; 60 is > 5 sigma away
  }
  CHECK(contains(error_message([] { data::RandomSampler(0); }),
                 "num_samples should be a positive integer value, but got num_samples=0"));
  CHECK(contains(error_message([] { data::RandomSampler(5, {.num_samples = 0}); }), "num_samples=0"));
}

TEST_CASE("SubsetRandomSampler: the given indices, shuffled") {
  Generator g(9);
  data::SubsetRandomSampler s({10, 20, 30, 40, 50, 60}, &g);
  const std::vector<int64_t> a = s.indices();
  const std::vector<int64_t> b = s.indices();
  CHECK(sorted(a) == std::vector<int64_t>{10, 20, 30, 40, 50, 60});
  CHECK(sorted(b) == sorted(a));
  CHECK(a != b);
  CHECK(s.size() == 6);
}

TEST_CASE("WeightedRandomSampler: frequencies follow the weights") {
  Generator g(11);
  data::WeightedRandomSampler s(std::vector<double>{1, 0, 3}, 4000, {.generator = &g});
  const std::vector<int64_t> v = s.indices();
  CHECK(v.size() == 4000);
  std::map<int64_t, int> counts;
  for (int64_t i : v) counts[i]++;
  CHECK(counts[1] == 0);
  CHECK(counts[0] + counts[2] == 4000);
  CHECK(counts[0] > 850);   // 1000 expected, sigma ~27
  CHECK(counts[0] < 1150);

  // Without replacement: distinct indices, zero weights never drawn, heavy ones first more often.
  data::WeightedRandomSampler nr(from_vector(std::vector<float>{0, 1, 1, 100, 0}), 3,
                                 {.replacement = false, .generator = &g});
  int heavy_first = 0;
  for (int k = 0; k < 50; ++k) {
    const std::vector<int64_t> x = nr.indices();
    CHECK(sorted(x) == std::vector<int64_t>{1, 2, 3});
    heavy_first += x[0] == 3;
  }
  CHECK(heavy_first > 40);
  // Reproducible.
  Generator a(5), b(5);
  CHECK(data::WeightedRandomSampler(std::vector<double>{1, 2, 3}, 10, {.generator = &a}).indices() ==
        data::WeightedRandomSampler(std::vector<double>{1, 2, 3}, 10, {.generator = &b}).indices());
}

TEST_CASE("WeightedRandomSampler errors") {
  CHECK(contains(error_message([] { data::WeightedRandomSampler(std::vector<double>{1, -1}, 2); }),
                 "weights[1] = -1"));
  CHECK(contains(error_message([] { data::WeightedRandomSampler(std::vector<double>{0, 0}, 2); }),
                 "sum of weights <= 0"));
  CHECK(contains(error_message([] {
                   data::WeightedRandomSampler(std::vector<double>{1, 0, 1}, 3, {.replacement = false});
                 }),
                 "cannot draw 3 samples without replacement: only 2 of 3 weights are positive"));
  CHECK(contains(error_message([] { data::WeightedRandomSampler(std::vector<double>{1}, 0); }),
                 "num_samples should be a positive integer value, but got num_samples=0"));
  CHECK(contains(error_message([] { data::WeightedRandomSampler(zeros({2, 2}), 1); }),
                 "weights should be a 1d sequence but given weights have shape [2, 2]"));
}
