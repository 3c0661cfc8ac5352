// DataLoader: len() against PyTorch 1.13 (tools/gen_data_golden.py), batch contents and
// order, shuffling, worker threads (same batches for 0/1/2/4 workers, errors, timeouts, early
// exit, persistent workers, per-worker seeds), IterableDataset, exact mid-epoch resume from
// state_dict, and option errors. Run it under --config=tsan and --config=asan too.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
using data::DataLoader;

namespace {

Value T(DType dtype, Shape sizes, std::vector<double> values) {
  return Value(from_vector(values, sizes).to(dtype));
}

#include "tests/golden/data_golden.inc"

// x[i] = [i, i + 0.5] (float32), y[i] = i (int64).
std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  std::vector<float> x;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(i) + 0.5f);
    y.push_back(i);
  }
  return std::make_shared<data::TensorDataset>(from_vector(x, Shape{n, 2}), from_vector(y));
}

// A map-style dataset whose examples are (tensor [i + noise], i); noise from
// data::current_generator() when `random`, like a random transform. Counts calls and can
// fail, block or record the threads that call it.
class ProbeDataset : public data::Dataset {
 public:
  explicit ProbeDataset(int64_t n, bool random = false) : n_(n), random_(random) {}
  int64_t size() const override { return n_; }
  Value get(int64_t i) const override {
    gets_.fetch_add(1);
    if (i == fail_at) throw std::runtime_error("boom at " + std::to_string(i));
    if (i == block_at) {
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (record_threads) {
      std::lock_guard<std::mutex> lock(mutex_);
      threads_.insert(std::this_thread::get_id());
      if (const data::WorkerInfo* info = data::get_worker_info()) infos_.push_back(*info);
    }
    double noise = random_ ? rand({1}, {.dtype = kFloat64}, &data::current_generator()).item<double>() : 0.0;
    return Value::tuple({Value(from_vector(std::vector<double>{static_cast<double>(i) + noise})), Value(i)});
  }
  std::optional<Value> get_batch(std::span<const int64_t>) const override {
    fast_path_calls_.fetch_add(1);
    return std::nullopt;  // fall back to get() + collate
  }

  int64_t gets() const { return gets_.load(); }
  int64_t fast_path_calls() const { return fast_path_calls_.load(); }
  std::set<std::thread::id> threads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_;
  }
  std::vector<data::WorkerInfo> infos() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return infos_;
  }

  int64_t fail_at = -1;
  int64_t block_at = -1;
  mutable std::atomic<bool> release{false};
  bool record_threads = false;

 private:
  int64_t n_;
  bool random_;
  mutable std::atomic<int64_t> gets_{0};
  mutable std::atomic<int64_t> fast_path_calls_{0};
  mutable std::mutex mutex_;
  mutable std::set<std::thread::id> threads_;
  mutable std::vector<data::WorkerInfo> infos_;
};

// 0 .. n-1; with workers each worker streams its contiguous share (PyTorch's documented
// pattern for IterableDataset). size_hint n when `sized`.
class RangeIterable : public data::IterableDataset {
 public:
  explicit RangeIterable(int64_t n, bool sized = true) : n_(n), sized_(sized) {}
  class It : public Iterator {
   public:
    It(int64_t begin, int64_t end) : next_(begin), end_(end) {}
    std::optional<Value> next() override {
      if (next_ >= end_) return std::nullopt;
      return Value(next_++);
    }

   private:
    int64_t next_, end_;
  };
  std::unique_ptr<Iterator> iterator() const override {
    const data::WorkerInfo* info = data::get_worker_info();
    if (info == nullptr) return std::make_unique<It>(0, n_);
    const int64_t per = (n_ + info->num_workers - 1) / info->num_workers;
    return std::make_unique<It>(std::min(n_, per * info->id), std::min(n_, per * (info->id + 1)));
  }
  std::optional<int64_t> size_hint() const override {
    return sized_ ? std::optional<int64_t>(n_) : std::nullopt;
  }

 private:
  int64_t n_;
  bool sized_;
};

// Every batch as plain numbers: the labels (position 1), and the values of position 0.
struct Seen {
  std::vector<std::vector<int64_t>> labels;
  std::vector<std::vector<double>> values;
  friend bool operator==(const Seen&, const Seen&) = default;
};

void record(Seen& seen, const Value& batch) {
  seen.labels.push_back(batch[1].as_tensor().to_vector<int64_t>());
  seen.values.push_back(values(batch[0].as_tensor()));
}

Seen run_epoch(DataLoader& loader) {
  Seen seen;
  for (const Value& batch : loader) record(seen, batch);
  return seen;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

TEST_CASE("len(loader) matches PyTorch") {
  REQUIRE(kLoaderLenGoldens.size() >= 50);
  for (const LoaderLenGolden& g : kLoaderLenGoldens) {
    INFO("n=" << g.n << " batch_size=" << g.batch_size << " drop_last=" << g.drop_last);
    DataLoader loader(numbered(g.n), {.batch_size = g.batch_size < 0 ? std::nullopt : std::optional<int64_t>(g.batch_size),
                                      .drop_last = g.drop_last});
    CHECK(loader.size() == g.len);
    int64_t count = 0;
    for (const Value& batch : loader) {
      (void)batch;
      ++count;
    }
    CHECK(count == g.len);
  }
  for (const IterableLenGolden& g : kIterableLenGoldens) {
    INFO("iterable n=" << g.n << " batch_size=" << g.batch_size << " drop_last=" << g.drop_last);
    DataLoader loader(std::make_shared<RangeIterable>(g.n),
                      {.batch_size = g.batch_size < 0 ? std::nullopt : std::optional<int64_t>(g.batch_size),
                       .drop_last = g.drop_last});
    CHECK(loader.size() == g.len);
    int64_t count = 0;
    for (const Value& batch : loader) {
      (void)batch;
      ++count;
    }
    CHECK(count == g.len);
  }
  for (const DistributedLoaderLenGolden& g : kDistributedLoaderLenGoldens) {
    INFO("distributed n=" << g.n << " replicas=" << g.num_replicas << " batch_size=" << g.batch_size);
    auto sampler = std::make_shared<data::DistributedSampler>(
        g.n, data::DistributedSamplerOptions{.num_replicas = g.num_replicas, .rank = g.num_replicas - 1,
                                             .shuffle = false, .drop_last = g.sampler_drop_last});
    DataLoader loader(numbered(g.n), {.batch_size = g.batch_size, .sampler = sampler, .drop_last = g.drop_last});
    CHECK(loader.size() == g.len);
  }
  DataLoader unsized(std::make_shared<RangeIterable>(5, false), {.batch_size = 2});
  CHECK(contains(error_message([&] { (void)unsized.size(); }), "the IterableDataset has no size_hint()"));
}

TEST_CASE("batches: contents, order, drop_last, no batching") {
  DataLoader loader(numbered(10), {.batch_size = 4});
  Seen seen = run_epoch(loader);
  CHECK(seen.labels == std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}});
  CHECK(seen.values[2] == std::vector<double>{8, 8.5, 9, 9.5});
  for (const Value& batch : loader) {
    REQUIRE(batch.is_list());  // TensorDataset tuples collate to lists, as in PyTorch
    CHECK(batch[0].as_tensor().dtype() == kFloat32);
    CHECK(batch[1].as_tensor().dtype() == kInt64);
    break;
  }

  DataLoader dropping(numbered(10), {.batch_size = 4, .drop_last = true});
  CHECK(run_epoch(dropping).labels == std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}});

  DataLoader single(numbered(3), {.batch_size = std::nullopt});
  std::vector<int64_t> labels;
  for (const Value& example : single) {
    REQUIRE(example.is_tuple());  // the example itself, not collated
    labels.push_back(example[1].as_tensor().item<int64_t>());
  }
  CHECK(labels == std::vector<int64_t>{0, 1, 2});

  // A dataset by value, and an empty dataset.
  DataLoader by_value(data::TensorDataset(arange(5)), {.batch_size = 2});
  CHECK(by_value.size() == 3);
  DataLoader empty(numbered(0), {.batch_size = 2});
  CHECK(empty.begin() == empty.end());
}

TEST_CASE("the dataset's get_batch is used with the default collate only") {
  auto ds = std::make_shared<ProbeDataset>(6);
  DataLoader fast(ds, {.batch_size = 4});
  (void)run_epoch(fast);
  CHECK(ds->fast_path_calls() == 2);
  CHECK(ds->gets() == 6);
  std::vector<size_t> sizes;
  DataLoader custom(ds, {.batch_size = 4, .collate_fn = [&](std::vector<Value> examples) {
                           sizes.push_back(examples.size());
                           return data::default_collate(examples);
                         }});
  Seen seen = run_epoch(custom);
  CHECK(ds->fast_path_calls() == 2);  // not called again
  CHECK(sizes == std::vector<size_t>{4, 2});
  CHECK(seen.labels == std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5}});
}

TEST_CASE("shuffle: complete, disjoint, new order each epoch, reproducible from the seed") {
  Generator g(2024);
  DataLoader loader(numbered(50), {.batch_size = 8, .shuffle = true, .generator = &g});
  const Seen e1 = run_epoch(loader);
  const Seen e2 = run_epoch(loader);
  CHECK(e1.labels.size() == 7);
  for (const Seen* e : {&e1, &e2}) {
    std::vector<int64_t> all = flat(e->labels);
    CHECK(all != range(50));
    std::sort(all.begin(), all.end());
    CHECK(all == range(50));
  }
  CHECK(e1.labels != e2.labels);
  CHECK(loader.epoch() == 1);

  Generator h(2024);
  DataLoader same(numbered(50), {.batch_size = 8, .shuffle = true, .generator = &h});
  CHECK(run_epoch(same) == e1);
  CHECK(run_epoch(same) == e2);

  // No generator: the default one, so manual_seed reproduces the loader.
  manual_seed(77);
  DataLoader d1(numbered(50), {.batch_size = 8, .shuffle = true});
  const Seen f1 = run_epoch(d1);
  manual_seed(77);
  DataLoader d2(numbered(50), {.batch_size = 8, .shuffle = true});
  CHECK(run_epoch(d2) == f1);
  manual_seed(78);
  DataLoader d3(numbered(50), {.batch_size = 8, .shuffle = true});
  CHECK(run_epoch(d3) != f1);
}

TEST_CASE("workers: the same batches in sampler order with 0, 1, 2 and 4 workers") {
  auto ds = numbered(37);
  Seen reference;
  for (int workers : {0, 1, 2, 4}) {
    INFO("num_workers=" << workers);
    Generator g(5);
    DataLoader loader(ds, {.batch_size = 3, .shuffle = true, .num_workers = workers, .generator = &g});
    const Seen e1 = run_epoch(loader);
    const Seen e2 = run_epoch(loader);
    if (workers == 0) {
      reference = e1;
      CHECK(e1 != e2);
    } else {
      CHECK(e1 == reference);
    }
    std::vector<int64_t> all = flat(e2.labels);
    std::sort(all.begin(), all.end());
    CHECK(all == range(37));
  }
  // A slow early batch does not reorder the output.
  auto probe = std::make_shared<ProbeDataset>(20);
  probe->block_at = 0;
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    probe->release = true;
  });
  DataLoader slow(probe, {.batch_size = 2, .num_workers = 3});
  const Seen s = run_epoch(slow);
  releaser.join();
  CHECK(flat(s.labels) == range(20));
}

TEST_CASE("workers: WorkerScope info and per-worker seeds") {
  auto ds = std::make_shared<ProbeDataset>(16, /*random=*/true);
  ds->record_threads = true;
  Generator g(8);
  DataLoader loader(ds, {.batch_size = 2, .num_workers = 4, .generator = &g});
  const Seen a = run_epoch(loader);
  const std::vector<data::WorkerInfo> infos = ds->infos();
  REQUIRE(infos.size() == 16);
  std::map<int, uint64_t> seed_of;
  for (const data::WorkerInfo& info : infos) {
    CHECK(info.num_workers == 4);
    CHECK(info.id >= 0);
    CHECK(info.id < 4);
    seed_of[info.id] = info.seed;
  }
  REQUIRE(seed_of.size() == 4);
  for (int w = 1; w < 4; ++w) CHECK(seed_of[w] == seed_of[0] + static_cast<uint64_t>(w));  // base_seed + id
  CHECK(ds->threads().size() == 4);
  // Random transforms: reproducible from the loader's seed, new each epoch.
  Generator h(8);
  DataLoader again(ds, {.batch_size = 2, .num_workers = 4, .generator = &h});
  CHECK(run_epoch(again) == a);
  const Seen b = run_epoch(loader);
  CHECK(b.labels == a.labels);
  CHECK(b.values != a.values);
  // Outside workers there is no WorkerInfo.
  CHECK(data::get_worker_info() == nullptr);
}

TEST_CASE("workers: an exception reaches the caller with the worker, batch and message") {
  auto ds = std::make_shared<ProbeDataset>(12);
  ds->fail_at = 7;  // batch 3 with batch_size 2: worker 3 % 2 = 1
  DataLoader loader(ds, {.batch_size = 2, .num_workers = 2});
  std::vector<int64_t> labels;
  const std::string msg = error_message([&] {
    for (const Value& batch : loader) {
      const auto l = batch[1].as_tensor().to_vector<int64_t>();
      labels.insert(labels.end(), l.begin(), l.end());
    }
  });
  CHECK(contains(msg, "DataLoader: caught an exception in worker 1 while loading batch 3: boom at 7"));
  CHECK(labels == range(6));  // the batches before it arrived, in order
  // Without workers the dataset's own exception propagates unchanged (as in PyTorch).
  DataLoader inline_loader(ds, {.batch_size = 2});
  try {
    for (const Value& batch : inline_loader) (void)batch;
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "boom at 7");
  }
  // worker_init_fn failures: every batch of that worker fails, nothing hangs.
  auto ok = numbered(8);
  DataLoader bad_init(ok, {.batch_size = 2, .num_workers = 2, .worker_init_fn = [](int id) {
                             if (id == 1) throw std::runtime_error("init failed");
                           }});
  CHECK(contains(error_message([&] { for (const Value& b : bad_init) (void)b; }),
                 "caught an exception in worker 1 in worker_init_fn: init failed"));
}

TEST_CASE("workers: timeout raises instead of hanging") {
  auto ds = std::make_shared<ProbeDataset>(8);
  ds->block_at = 2;  // batch 1 (worker 1) blocks until released
  {
    DataLoader loader(ds, {.batch_size = 2, .num_workers = 2, .timeout = 0.2});
    std::vector<int64_t> labels;
    const std::string msg = error_message([&] {
      for (const Value& batch : loader) {
        const auto l = batch[1].as_tensor().to_vector<int64_t>();
        labels.insert(labels.end(), l.begin(), l.end());
      }
    });
    CHECK(contains(msg, "DataLoader: timed out after 0.2 s waiting for batch 1 from worker 1"));
    CHECK(labels == std::vector<int64_t>{0, 1});
    ds->release = true;  // let the stuck call finish; the loader's destruction does not wait for it
  }
  // A detached worker finishes on its own; give it the time to before the dataset's test ends.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(contains(error_message([] { DataLoader(numbered(2), {.timeout = -1}); }),
                 "timeout option should be non-negative"));
}

TEST_CASE("workers: breaking out early or destroying the loader stops and joins the workers") {
  auto ds = std::make_shared<ProbeDataset>(2000);
  {
    DataLoader loader(ds, {.batch_size = 4, .num_workers = 4, .prefetch_factor = 2});
    int k = 0;
    for (const Value& batch : loader) {
      (void)batch;
      if (++k == 3) break;
    }
    // The iterator is gone: no worker loads anything any more.
    const int64_t after_break = ds->gets();
    CHECK(after_break <= (3 + 4 * 2 + 4) * 4);  // consumed + prefetched + one in flight per worker
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(ds->gets() == after_break);
  }
  // An iterator that outlives its loader: the loader's destruction ends the epoch.
  std::unique_ptr<DataLoader::Iterator> it;
  {
    DataLoader loader(ds, {.batch_size = 4, .num_workers = 2});
    it = std::make_unique<DataLoader::Iterator>(loader.begin());
    CHECK(*it != DataLoader::Sentinel{});
  }
  CHECK(*it == DataLoader::Sentinel{});
  it.reset();
  const int64_t done = ds->gets();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(ds->gets() == done);
  // Starting a new epoch ends the previous one.
  DataLoader loader(numbered(40), {.batch_size = 4, .num_workers = 2});
  auto first = loader.begin();
  auto second = loader.begin();
  CHECK(first == loader.end());
  CHECK(second != loader.end());
  CHECK(loader.epoch() == 1);
}

TEST_CASE("persistent workers: the same threads across epochs, same batches") {
  auto ds = std::make_shared<ProbeDataset>(24);
  ds->record_threads = true;
  std::atomic<int> init_calls{0};
  Generator g(1);
  DataLoader loader(ds, {.batch_size = 4, .shuffle = true, .num_workers = 3,
                         .worker_init_fn = [&](int) { init_calls.fetch_add(1); },
                         .generator = &g, .persistent_workers = true});
  std::vector<Seen> epochs;
  for (int e = 0; e < 3; ++e) epochs.push_back(run_epoch(loader));
  CHECK(ds->threads().size() == 3);
  CHECK(init_calls.load() == 3);  // once per worker, not per epoch
  // An abandoned epoch does not disturb the next.
  for (const Value& b : loader) {
    (void)b;
    break;
  }
  epochs.push_back(run_epoch(loader));

  Generator h(1);
  std::atomic<int> init_calls2{0};
  DataLoader fresh(numbered(24), {.batch_size = 4, .shuffle = true, .num_workers = 3,
                                  .worker_init_fn = [&](int) { init_calls2.fetch_add(1); },
                                  .generator = &h});
  for (int e = 0; e < 3; ++e) CHECK(run_epoch(fresh).labels == epochs[static_cast<size_t>(e)].labels);
  CHECK(init_calls2.load() == 9);  // non-persistent: new threads each epoch
  for (const Value& b : fresh) {
    (void)b;
    break;
  }
  CHECK(run_epoch(fresh).labels == epochs[3].labels);
}

TEST_CASE("IterableDataset: every example once, per-worker iterators, round robin") {
  DataLoader inline_loader(std::make_shared<RangeIterable>(10), {.batch_size = 3});
  std::vector<std::vector<int64_t>> batches;
  for (const Value& b : inline_loader) batches.push_back(b.as_tensor().to_vector<int64_t>());
  CHECK(batches == std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}});

  // Two workers with shares [0, 5) and [5, 10): batches alternate, each worker's last partial.
  DataLoader two(std::make_shared<RangeIterable>(10), {.batch_size = 3, .num_workers = 2});
  batches.clear();
  for (const Value& b : two) batches.push_back(b.as_tensor().to_vector<int64_t>());
  CHECK(batches == std::vector<std::vector<int64_t>>{{0, 1, 2}, {5, 6, 7}, {3, 4}, {8, 9}});
  // Uneven shares: a worker that ends drops out of the rotation.
  DataLoader three(std::make_shared<RangeIterable>(7), {.batch_size = 2, .num_workers = 3, .drop_last = true});
  batches.clear();
  for (const Value& b : three) batches.push_back(b.as_tensor().to_vector<int64_t>());
  // drop_last drops each worker's partial batch ([2], [5], [6]), as PyTorch's per-worker fetchers.
  CHECK(batches == std::vector<std::vector<int64_t>>{{0, 1}, {3, 4}});
  DataLoader unbatched(std::make_shared<RangeIterable>(4), {.batch_size = std::nullopt, .num_workers = 2});
  std::vector<int64_t> items;
  for (const Value& v : unbatched) items.push_back(v.as_int());
  CHECK(items == std::vector<int64_t>{0, 2, 1, 3});

  CHECK(contains(error_message([] { DataLoader(std::make_shared<RangeIterable>(4), {.shuffle = true}); }),
                 "DataLoader with IterableDataset: expected unspecified shuffle option"));
  CHECK(contains(error_message([] {
                   DataLoader(std::make_shared<RangeIterable>(4), {.sampler = std::make_shared<data::SequentialSampler>(4)});
                 }),
                 "expected unspecified sampler option"));
}

TEST_CASE("state_dict: resuming mid-epoch equals the uninterrupted run") {
  struct Setup {
    int workers;
    bool explicit_generator;
    bool random_transform;
  };
  for (const Setup& setup : {Setup{0, true, false}, Setup{0, false, false}, Setup{2, true, true},
                             Setup{3, false, true}}) {
    INFO("workers=" << setup.workers << " explicit_generator=" << setup.explicit_generator);
    auto ds = std::make_shared<ProbeDataset>(23, setup.random_transform);
    auto make = [&](Generator* g) {
      return DataLoader(ds, {.batch_size = 4, .shuffle = true, .num_workers = setup.workers,
                             .generator = setup.explicit_generator ? g : nullptr});
    };
    // Uninterrupted: three epochs.
    manual_seed(100);
    Generator g1(55);
    DataLoader reference = make(&g1);
    std::vector<Seen> full;
    for (int e = 0; e < 3; ++e) full.push_back(run_epoch(reference));

    // Interrupted after 2 batches of epoch 1.
    manual_seed(100);
    Generator g2(55);
    DataLoader first = make(&g2);
    CHECK(run_epoch(first) == full[0]);
    Seen partial;
    for (const Value& batch : first) {
      record(partial, batch);
      if (partial.labels.size() == 2) break;
    }
    const Value state = first.state_dict();
    CHECK(state.at("epoch").as_int() == 1);
    CHECK(state.at("batches_yielded").as_int() == 2);
    CHECK(state.at("in_progress").as_bool());

    // A new process: different seeds everywhere, then the state.
    manual_seed(999);
    Generator g3(1);
    DataLoader resumed = make(&g3);
    resumed.load_state_dict(state);
    Seen rest = run_epoch(resumed);
    CHECK(rest.labels.size() == 4);
    Seen joined = partial;
    joined.labels.insert(joined.labels.end(), rest.labels.begin(), rest.labels.end());
    joined.values.insert(joined.values.end(), rest.values.begin(), rest.values.end());
    CHECK(joined == full[1]);
    CHECK(run_epoch(resumed) == full[2]);
    CHECK(resumed.epoch() == 2);
  }
}

TEST_CASE("state_dict: an IterableDataset resumes by regenerating and dropping yielded batches") {
  auto batches_of = [](DataLoader& loader, size_t stop_after) {
    std::vector<std::vector<int64_t>> out;
    for (const Value& b : loader) {
      out.push_back(b.as_tensor().to_vector<int64_t>());
      if (out.size() == stop_after) break;
    }
    return out;
  };
  for (int workers : {0, 2}) {
    INFO("num_workers=" << workers);
    DataLoader full(std::make_shared<RangeIterable>(11), {.batch_size = 2, .num_workers = workers});
    const auto all = batches_of(full, 100);
    DataLoader first(std::make_shared<RangeIterable>(11), {.batch_size = 2, .num_workers = workers});
    const auto head = batches_of(first, 3);
    DataLoader resumed(std::make_shared<RangeIterable>(11), {.batch_size = 2, .num_workers = workers});
    resumed.load_state_dict(first.state_dict());
    auto joined = head;
    for (auto& b : batches_of(resumed, 100)) joined.push_back(b);
    CHECK(joined == all);
  }
}

TEST_CASE("state_dict: a finished epoch resumes with the next one; errors") {
  Generator g(3);
  DataLoader loader(numbered(8), {.batch_size = 4, .shuffle = true, .generator = &g});
  const Seen e0 = run_epoch(loader);
  Value state = loader.state_dict();
  CHECK(!state.at("in_progress").as_bool());
  const Seen e1 = run_epoch(loader);
  // All batches yielded but the loop not run to its end: still the next epoch on resume.
  Generator h(3);
  DataLoader other(numbered(8), {.batch_size = 4, .shuffle = true, .generator = &h});
  int k = 0;
  for (const Value& b : other) {
    (void)b;
    if (++k == 2) break;
  }
  CHECK(!other.state_dict().at("in_progress").as_bool());
  Generator i(0);
  DataLoader resumed(numbered(8), {.batch_size = 4, .shuffle = true, .generator = &i});
  resumed.load_state_dict(other.state_dict());
  CHECK(run_epoch(resumed) == e1);

  CHECK(contains(error_message([&] { loader.load_state_dict(Value::dict({{"epoch", 1}})); }),
                 "DataLoader::load_state_dict: the state has no 'batches_yielded'"));
  state.set("generators", Value::list());
  CHECK(contains(error_message([&] { loader.load_state_dict(state); }),
                 "the state has 0 generator states but this loader uses 1"));
}

TEST_CASE("state_dict(batches_consumed): a resume fetches the unconsumed batches again") {
  auto make = [](Generator* g) { return DataLoader(numbered(12), {.batch_size = 4, .shuffle = true, .generator = g}); };
  Generator g(7);
  DataLoader reference = make(&g);
  std::vector<Seen> full;
  for (int e = 0; e < 3; ++e) full.push_back(run_epoch(reference));

  // Epoch 1 fetched to its end, but its last batch was not consumed (it failed).
  Generator h(7);
  DataLoader first = make(&h);
  CHECK(run_epoch(first) == full[0]);
  Seen consumed;
  for (const Value& batch : first) {
    if (consumed.labels.size() < 2) record(consumed, batch);
  }
  CHECK(first.batches_yielded() == 3);
  CHECK(!first.state_dict().at("in_progress").as_bool());
  const Value state = first.state_dict(2);
  CHECK(state.at("batches_yielded").as_int() == 2);
  CHECK(state.at("in_progress").as_bool());
  CHECK(first.state_dict(3) == first.state_dict());

  Generator other(1);
  DataLoader resumed = make(&other);
  resumed.load_state_dict(state);
  const Seen rest = run_epoch(resumed);
  REQUIRE(rest.labels.size() == 1);
  Seen joined = consumed;
  joined.labels.push_back(rest.labels[0]);
  joined.values.push_back(rest.values[0]);
  CHECK(joined == full[1]);
  CHECK(run_epoch(resumed) == full[2]);

  CHECK(contains(error_message([&] { (void)first.state_dict(4); }),
                 "DataLoader::state_dict: batches_consumed=4 but this epoch has yielded 3 batches"));
  CHECK(contains(error_message([&] { (void)first.state_dict(-1); }), "batches_consumed=-1"));
}

TEST_CASE("samplers with the loader: batch_sampler, sampler, DistributedSampler") {
  auto ds = numbered(10);
  auto bs = std::make_shared<data::BatchSampler>(std::make_shared<data::SequentialSampler>(10), 3, true);
  DataLoader by_batches(ds, {.batch_sampler = bs});
  CHECK(by_batches.size() == 3);
  CHECK(run_epoch(by_batches).labels == std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}});

  auto dist = std::make_shared<data::DistributedSampler>(
      10, data::DistributedSamplerOptions{.num_replicas = 3, .rank = 1, .shuffle = false});
  DataLoader sharded(ds, {.batch_size = 2, .sampler = dist});
  CHECK(run_epoch(sharded).labels == std::vector<std::vector<int64_t>>{{1, 4}, {7, 0}});

  Generator g(4);
  auto subset = std::make_shared<data::SubsetRandomSampler>(std::vector<int64_t>{1, 3, 5, 7}, &g);
  DataLoader sub(ds, {.batch_size = 4, .sampler = subset, .num_workers = 2});
  std::vector<int64_t> got = flat(run_epoch(sub).labels);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<int64_t>{1, 3, 5, 7});
  CHECK(sub.state_dict().at("generators").size() == 2);  // the default one and the sampler's
}

TEST_CASE("pin_memory keeps the batches as they are without a CUDA device") {
  DataLoader loader(numbered(5), {.batch_size = 2, .num_workers = 1, .pin_memory = true});
  CHECK(run_epoch(loader).labels == std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}});
}

TEST_CASE("option errors follow PyTorch's checks") {
  auto ds = numbered(4);
  auto seq = std::make_shared<data::SequentialSampler>(4);
  auto bs = std::make_shared<data::BatchSampler>(seq, 2, false);
  auto msg = [&](data::DataLoaderOptions o) { return error_message([&] { DataLoader(ds, std::move(o)); }); };
  CHECK(contains(msg({.shuffle = true, .sampler = seq}), "DataLoader: sampler option is mutually exclusive with shuffle"));
  CHECK(contains(msg({.batch_size = 4, .batch_sampler = bs}),
                 "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"));
  CHECK(contains(msg({.batch_sampler = bs, .drop_last = true}), "drop_last=1"));
  CHECK(contains(msg({.batch_size = 0}), "batch_size should be a positive integer value, but got batch_size=0"));
  CHECK(contains(msg({.batch_size = std::nullopt, .drop_last = true}),
                 "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"));
  CHECK(contains(msg({.num_workers = -1}), "num_workers option should be non-negative"));
  CHECK(contains(msg({.prefetch_factor = 4}), "prefetch_factor option could only be specified with workers"));
  CHECK(contains(msg({.num_workers = 1, .prefetch_factor = 0}), "prefetch_factor must be positive"));
  CHECK(contains(msg({.persistent_workers = true}), "persistent_workers option needs num_workers > 0"));
  CHECK(contains(error_message([] { DataLoader(std::shared_ptr<const data::Dataset>(), {}); }), "dataset is null"));
}

namespace {

// Records the kernel thread count each get() sees.
class ThreadCountProbe : public data::Dataset {
 public:
  int64_t size() const override { return 8; }
  Value get(int64_t index) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.insert(get_num_threads());
    return Value(index);
  }
  std::set<int> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::set<int> seen_;
};

}  // namespace

TEST_CASE("DataLoader: kernels inside workers run single-threaded; the caller's setting is kept") {
  const int before = get_num_threads();
  set_num_threads(2);
  auto probe = std::make_shared<ThreadCountProbe>();
  DataLoader loader(probe, {.batch_size = 2, .num_workers = 2});
  int64_t batches = 0;
  for (const Value& batch : loader) batches += batch.is_tensor() ? 1 : 0;
  CHECK(batches == 4);
  CHECK(probe->seen() == std::set<int>({1}));
  CHECK(get_num_threads() == 2);
  // Without workers the loader runs on the caller's thread, with the caller's setting.
  auto inline_probe = std::make_shared<ThreadCountProbe>();
  DataLoader inline_loader(inline_probe, {.batch_size = 2});
  for (const Value& batch : inline_loader) (void)batch;
  CHECK(inline_probe->seen() == std::set<int>({2}));
  set_num_threads(before);
}
