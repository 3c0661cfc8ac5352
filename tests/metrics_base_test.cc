// metrics::Metric, the base: compute() before update() (torchmetrics' warning and values,
// from tests/golden/metrics_golden.inc), caching, forward() bookkeeping and failure
// behaviour, reset, and sync/unsync across processes with a fake two-rank Reducer defined
// here (two metric instances stand for two processes; the MPI/NCCL one comes with the
// distributed layer). The synced result must equal one metric that saw all the data.
#include "tests/metrics_test_util.h"

using namespace fulgur;
using namespace fulgur::metrics_testing;

namespace {

// Rank `rank` of a two-process world whose other process holds `peer`'s states. Metric::sync
// issues one collective per state in the order the states were added, which is the order of
// metric_state(), so call k pairs with the peer's k-th state (modulo: a reducer serves many
// syncs). An empty list state of the peer arrives as an undefined tensor (no data).
class TwoRankReducer : public metrics::Reducer {
 public:
  TwoRankReducer(const metrics::Metric& peer, int rank) : peer_(peer.metric_state()), rank_(rank) {}
  int64_t world_size() const override { return 2; }
  Tensor all_reduce(const Tensor& t, Op op) const override {
    const Tensor& other = next();
    REQUIRE(other.sizes() == t.sizes());
    switch (op) {
      case Op::Sum: return t + other;
      case Op::Max: return maximum(t, other);
      case Op::Min: return minimum(t, other);
    }
    return Tensor();
  }
  std::vector<Tensor> all_gather(const Tensor& t) const override {
    const Tensor& other = next();
    return rank_ == 0 ? std::vector<Tensor>{t, other} : std::vector<Tensor>{other, t};
  }
  mutable int calls = 0;

 private:
  const Tensor& next() const { return peer_[static_cast<size_t>(calls++) % peer_.size()].second; }
  std::vector<std::pair<std::string, Tensor>> peer_;
  int rank_;
};

using Batch = std::vector<Tensor>;
void feed(metrics::Metric& m, const std::vector<Batch>& batches) {
  for (const auto& b : batches) {
    if (b.size() == 1) {
      m.update(b[0]);
    } else {
      m.update(b[0], b[1]);
    }
  }
}

// rank0 sees `a`, rank1 sees `b`; after sync both compute what one metric over a + b does,
// and after unsync each is back to its own data.
void check_sync(const std::function<std::shared_ptr<metrics::Metric>()>& make, const std::vector<Batch>& a,
                const std::vector<Batch>& b) {
  auto rank0 = make(), rank1 = make(), all = make();
  feed(*rank0, a);
  feed(*rank1, b);
  feed(*all, a);
  feed(*all, b);
  const Tensor local0 = rank0->compute().clone();
  const Tensor local1 = rank1->compute().clone();
  const Tensor want = all->compute();
  const auto want_close = [&](const Tensor& got) {
    REQUIRE(got.sizes() == want.sizes());
    CHECK(allclose(got.to(kFloat64), want.to(kFloat64), 1e-5, 1e-6, true));
  };

  TwoRankReducer r0(*rank1, 0), r1(*rank0, 1);
  rank0->sync(r0);
  rank1->sync(r1);
  CHECK(rank0->is_synced());
  want_close(rank0->compute());
  want_close(rank1->compute());
  CHECK(error_of([&] { rank0->sync(r0); }).find("The Metric has already been synced.") != std::string::npos);
  CHECK(error_of([&] { rank0->forward(a[0][0], a[0][1]); }).find("shouldn't be synced") != std::string::npos);
  rank0->unsync();
  rank1->unsync();
  CHECK(allclose(rank0->compute().to(kFloat64), local0.to(kFloat64), 1e-6, 1e-7, true));
  CHECK(allclose(rank1->compute().to(kFloat64), local1.to(kFloat64), 1e-6, 1e-7, true));
  CHECK(error_of([&] { rank0->unsync(); }).find("already been un-synced") != std::string::npos);

  // With a reducer set, compute() syncs, computes and goes back to the local states
  // (torchmetrics' sync_on_compute), so accumulation continues locally.
  rank0->set_reducer(std::make_shared<TwoRankReducer>(*rank1, 0));
  want_close(rank0->compute());
  CHECK(!rank0->is_synced());
  rank0->set_reducer(nullptr);
  rank0->update(a[0][0], a[0][1]);  // invalidates the cache
  auto again = make();
  feed(*again, a);
  feed(*again, {a[0]});
  CHECK(allclose(rank0->compute().to(kFloat64), again->compute().to(kFloat64), 1e-6, 1e-7, true));
}

Batch mc_batch(int64_t n, Generator* g) {
  return {randn({n, 4}, {}, g), randint(0, 4, {n}, {}, g)};
}
Batch bin_batch(int64_t n, Generator* g) { return {rand({n}, {}, g), randint(0, 2, {n}, {}, g)}; }
Batch reg_batch(int64_t n, Generator* g) { return {randn({n}, {}, g), randn({n}, {}, g)}; }

// A metric with one state per reduction, to check the reductions themselves.
class AllReductions : public metrics::Metric {
 public:
  AllReductions() {
    add_state("sum", zeros({2}), metrics::Reduction::Sum);
    add_state("mean", zeros({}), metrics::Reduction::Mean);
    add_state("max", full({}, -1e9), metrics::Reduction::Max);
    add_state("min", full({}, 1e9), metrics::Reduction::Min);
    add_state("cat", zeros({0}), metrics::Reduction::Cat);
    add_list_state("list");
  }
  std::string name() const override { return "AllReductions"; }

 protected:
  std::pair<size_t, size_t> num_inputs() const override { return {1, 1}; }
  void update_state(const std::vector<Tensor>& in) override {
    const Tensor& x = in[0];
    state("sum").add_(stack({x.sum(), x.abs().sum()}));
    state("mean") = x.mean();  // the latest batch's mean; reduced by averaging
    state("max") = maximum(state("max"), x.max());
    state("min") = minimum(state("min"), x.min());
    state("cat") = cat({state("cat"), x});
    list_state("list").push_back(x * 2);
  }
  Tensor compute_state() override {
    return cat({state("sum"), state("mean").reshape({1}), state("max").reshape({1}), state("min").reshape({1}),
                state("cat"), cat_state("list", "compute")});
  }
};

}  // namespace

TEST_CASE("compute() before update(): torchmetrics' warning, and its value (or error)") {
  int n = 0;
  for (const auto& c : metrics_golden::cases()) {
    if (c.input >= 0) continue;
    INFO("case ", c.name);
    WarningCapture w;
    auto m = c.make();
    if (c.compute_throws) {
      CHECK_THROWS_AS(m->compute(), Error);
    } else {
      check_value(m->compute(), c.compute, "compute before update");
    }
    REQUIRE(!w.messages.empty());
    CHECK(w.messages[0] == "The ``compute`` method of metric " + m->name() +
                               " was called before the ``update`` method which may lead to errors, as metric states "
                               "have not yet been updated.");
    ++n;
  }
  CHECK(n == 13);
}

TEST_CASE("compute() is cached until the next update, forward, reset or sync") {
  metrics::Accuracy acc({.task = "multiclass", .num_classes = 3});
  acc.update(i64({0, 1, 2}), i64({0, 1, 1}));
  const Tensor first = acc.compute();
  CHECK(acc.compute().is_same(first));
  acc.update(i64({0}), i64({0}));
  const Tensor second = acc.compute();
  CHECK(!second.is_same(first));
  CHECK(first.item<double>() == doctest::Approx(2.0 / 3.0));  // an earlier result never changes
  CHECK(second.item<double>() == doctest::Approx(0.75));
  acc.set_compute_with_cache(false);
  CHECK(!acc.compute().is_same(acc.compute()));
  acc.reset();
  CHECK(acc.update_count() == 0);
  CHECK(acc.metric_state()[0].second.to_vector<int64_t>() == std::vector<int64_t>{0});
}

TEST_CASE("forward(): batch value, global accumulation, failures leave the state alone") {
  metrics::Accuracy acc({.task = "multiclass", .num_classes = 3});
  CHECK(acc(i64({0, 1}), i64({0, 0})).item<double>() == doctest::Approx(0.5));
  CHECK(acc.forward(i64({2, 2}), i64({2, 2})).item<double>() == doctest::Approx(1.0));
  CHECK(acc.forward_cache().item<double>() == doctest::Approx(1.0));
  CHECK(acc.update_count() == 2);
  // A bad batch throws and changes nothing (torchmetrics would have reset the metric).
  CHECK_THROWS_AS(acc.forward(i64({0, 1}), i64({0, 9})), Error);
  CHECK(acc.update_count() == 2);
  CHECK(acc.compute().item<double>() == doctest::Approx(0.75));
  // MaxMetric takes the full-state path (update twice): same bookkeeping.
  metrics::MaxMetric mx;
  CHECK(mx(f32({1.f, 5.f})).item<double>() == 5.0);
  CHECK(mx(f32({2.f})).item<double>() == 2.0);
  CHECK(mx.update_count() == 2);
  CHECK(mx.compute().item<double>() == 5.0);
  WarningCapture w;
  CHECK_THROWS_AS(metrics::MaxMetric({.nan_strategy = "error"}).forward(f32({std::numeric_limits<float>::quiet_NaN()})), Error);
  // reset() clears the forward cache.
  acc.reset();
  CHECK(!acc.forward_cache().defined());
}

TEST_CASE("forward() merges batch states with each reduction") {
  AllReductions m;
  m.forward(f32({1.f, -2.f}));
  m.forward(f32({3.f}));
  m.update(f32({5.f, 7.f}));  // "mean" is replaced by the last update: forward averages, update does not
  const std::vector<float> v = m.compute().to_vector<float>();
  // sum [1-2+3+5+7, 1+2+3+5+7], mean 6 (update overwrote), max 7, min -2, cat, list*2
  CHECK(v == std::vector<float>{14.f, 18.f, 6.f, 7.f, -2.f, 1.f, -2.f, 3.f, 5.f, 7.f, 2.f, -4.f, 6.f, 10.f, 14.f});
  AllReductions f;
  f.forward(f32({1.f, -2.f}));  // mean -0.5
  f.forward(f32({3.f}));        // ((2 - 1) * -0.5 + 3) / 2 = 1.25, as torchmetrics
  CHECK(f.metric_state()[1].second.item<double>() == doctest::Approx(1.25));
}

TEST_CASE("sync: every reduction across two ranks, rank order kept") {
  AllReductions r0, r1;
  r0.update(f32({1.f, -2.f}));
  r1.update(f32({3.f}));
  r1.update(f32({4.f}));
  TwoRankReducer red0(r1, 0);
  r0.sync(red0);
  CHECK(red0.calls == 6);  // one collective per state
  const std::vector<float> v = r0.compute().to_vector<float>();
  // sum, mean of the two ranks' means ((-0.5 + 4) / 2), max, min, cat and list in rank order
  CHECK(v == std::vector<float>{6.f, 10.f, 1.75f, 4.f, -2.f, 1.f, -2.f, 3.f, 4.f, 2.f, -4.f, 6.f, 8.f});
  r0.unsync();
  CHECK(r0.compute().to_vector<float>() ==
        std::vector<float>{-1.f, 3.f, -0.5f, 1.f, -2.f, 1.f, -2.f, 2.f, -4.f});
}

TEST_CASE("sync: two ranks give the same result as one metric over all the data") {
  Generator g(1234);
  const std::vector<Batch> mc_a = {mc_batch(7, &g), mc_batch(5, &g)}, mc_b = {mc_batch(9, &g)};
  const std::vector<Batch> bin_a = {bin_batch(6, &g)}, bin_b = {bin_batch(4, &g), bin_batch(8, &g)};
  const std::vector<Batch> reg_a = {reg_batch(6, &g), reg_batch(3, &g)}, reg_b = {reg_batch(10, &g)};
  for (const char* avg : {"micro", "macro", "weighted", "none"}) {
    check_sync([&] { return std::make_shared<metrics::Accuracy>(metrics::AccuracyOptions{
                         .task = "multiclass", .num_classes = 4, .average = avg}); },
               mc_a, mc_b);
    check_sync([&] { return std::make_shared<metrics::F1Score>(metrics::F1ScoreOptions{
                         .task = "multiclass", .num_classes = 4, .average = avg, .top_k = 2}); },
               mc_a, mc_b);
  }
  check_sync([] { return std::make_shared<metrics::ConfusionMatrix>(metrics::ConfusionMatrixOptions{
                      .task = "multiclass", .num_classes = 4, .normalize = "true"}); },
             mc_a, mc_b);
  check_sync([] { return std::make_shared<metrics::AUROC>(metrics::AUROCOptions{.task = "binary"}); }, bin_a, bin_b);
  check_sync([] { return std::make_shared<metrics::Precision>(metrics::PrecisionOptions{.task = "binary"}); }, bin_a,
             bin_b);
  check_sync([] { return std::make_shared<metrics::MeanSquaredError>(); }, reg_a, reg_b);
  check_sync([] { return std::make_shared<metrics::MeanAbsoluteError>(); }, reg_a, reg_b);
  check_sync([] { return std::make_shared<metrics::R2Score>(); }, reg_a, reg_b);
  check_sync([] { return std::make_shared<metrics::MeanMetric>(); }, reg_a, reg_b);  // (value, weight)
  const std::vector<Batch> val_a = {{reg_a[0][0]}, {reg_a[1][0]}}, val_b = {{reg_b[0][0]}};
  for (const auto& make : std::vector<std::function<std::shared_ptr<metrics::Metric>()>>{
           [] { return std::make_shared<metrics::SumMetric>(); }, [] { return std::make_shared<metrics::MaxMetric>(); },
           [] { return std::make_shared<metrics::MinMetric>(); }}) {
    auto r0 = make(), r1 = make(), all = make();
    feed(*r0, val_a);
    feed(*r1, val_b);
    feed(*all, val_a);
    feed(*all, val_b);
    TwoRankReducer red(*r1, 0);
    r0->sync(red);
    CHECK(r0->compute().item<double>() == doctest::Approx(all->compute().item<double>()));
  }
}

TEST_CASE("sync: a rank without data") {
  metrics::AUROC r0({.task = "binary"}), r1({.task = "binary"});
  r0.update(f32({0.1f, 0.8f, 0.4f}), i64({0, 1, 1}));
  TwoRankReducer red0(r1, 0);  // r1 never updated: empty list states
  r0.sync(red0);
  CHECK(r0.compute().item<double>() == doctest::Approx(1.0));
  TwoRankReducer red1(r0, 1);
  WarningCapture w;
  r1.sync(red1);
  CHECK(r1.compute().item<double>() == doctest::Approx(1.0));  // r1 computes over r0's data
  CHECK(r1.metric_state()[1].second.dtype() == kInt64);        // targets keep their dtype
}

TEST_CASE("state reductions by name") {
  CHECK(metrics::reduction_from_string("cat") == metrics::Reduction::Cat);
  CHECK(std::string(metrics::reduction_name(metrics::Reduction::Mean)) == "mean");
  CHECK(error_of([] { metrics::reduction_from_string("median"); }) ==
        "Metric.add_state: `dist_reduce_fx` must be one of ['mean', 'sum', 'cat', 'min', 'max'], got 'median'");
}
