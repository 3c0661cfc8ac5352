#include "fulgur/data/dataloader.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>
#include <vector>

#include "fulgur/data/internal/batch_channel.h"
#include "fulgur/data/internal/worker_thread.h"
#include "fulgur/data/loader_state.h"
#include "fulgur/data/pin_memory.h"
#include "fulgur/data/random_samplers.h"
#include "fulgur/data/worker_info.h"
#include "fulgur/kernels/error.h"

namespace fulgur::data {

using internal::BatchChannel;
using internal::BatchItem;
using internal::WorkerThread;

namespace {

constexpr const char* kOp = "DataLoader";
using BatchList = std::vector<std::vector<int64_t>>;

// One map-style batch: the dataset's get_batch when the default collate is in use (one gather
// instead of batch_size small tensors), else get() per index and the collate.
Value fetch_map_batch(const Dataset& dataset, const std::vector<int64_t>& indices,
                      bool auto_batching, const CollateFn& collate_fn) {
  if (!auto_batching) {
    Value example = dataset.get(indices[0]);
    return collate_fn ? collate_fn({std::move(example)}) : example;
  }
  if (!collate_fn) {
    if (std::optional<Value> batch = dataset.get_batch(indices)) return std::move(*batch);
  }
  std::vector<Value> examples;
  examples.reserve(indices.size());
  for (int64_t index : indices) examples.push_back(dataset.get(index));
  return collate_fn ? collate_fn(std::move(examples)) : default_collate(examples);
}

// The next batch of an IterableDataset pass, or nullopt at its end. `exhausted` remembers
// that the iterator already returned its end, so it is not asked again.
std::optional<Value> fetch_iterable_batch(IterableDataset::Iterator& it, bool& exhausted,
                                          std::optional<int64_t> batch_size, bool drop_last,
                                          const CollateFn& collate_fn) {
  if (exhausted) return std::nullopt;
  if (!batch_size) {
    std::optional<Value> example = it.next();
    if (!example) {
      exhausted = true;
      return std::nullopt;
    }
    return collate_fn ? collate_fn({std::move(*example)}) : std::move(*example);
  }
  std::vector<Value> examples;
  while (static_cast<int64_t>(examples.size()) < *batch_size) {
    std::optional<Value> example = it.next();
    if (!example) {
      exhausted = true;
      break;
    }
    examples.push_back(std::move(*example));
  }
  if (examples.empty() || (drop_last && static_cast<int64_t>(examples.size()) < *batch_size)) {
    return std::nullopt;
  }
  return collate_fn ? collate_fn(std::move(examples)) : default_collate(examples);
}

std::string describe_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

// What a worker job needs, all owned: a worker stuck past the timeout is detached and may
// outlive the loader.
struct JobContext {
  std::shared_ptr<const Dataset> dataset;
  std::shared_ptr<const IterableDataset> iterable;
  std::shared_ptr<const BatchList> batches;  // map-style
  std::shared_ptr<BatchChannel> channel;
  CollateFn collate_fn;
  std::function<void(int)> worker_init_fn;
  std::optional<int64_t> batch_size;
  bool auto_batching = true;
  bool drop_last = false;
  int worker_id = 0;
  int num_workers = 1;
  uint64_t base_seed = 0;
  int64_t first_batch = 0;  // map-style: batches before it were yielded before a resume
};

// Batch k's randomness starts at counter k * 2^32 of the worker's seed (see dataloader.h).
void position_generator(WorkerScope& scope, const WorkerInfo& info, int64_t batch) {
  scope.generator().set_state(info.seed, static_cast<uint64_t>(batch) << 32);
}

std::string worker_error(int worker_id, const std::string& where, const std::string& what) {
  return detail::str_cat("caught an exception in worker ", worker_id, " ", where, ": ", what);
}

void run_map_job(const JobContext& c, bool first_job) {
  const WorkerInfo info{c.worker_id, c.num_workers, c.base_seed + static_cast<uint64_t>(c.worker_id)};
  WorkerScope scope(info);
  std::string init_error;
  if (first_job && c.worker_init_fn) {
    try {
      c.worker_init_fn(c.worker_id);
    } catch (...) {
      init_error = worker_error(c.worker_id, "in worker_init_fn", describe_exception(std::current_exception()));
    }
  }
  const int64_t n = static_cast<int64_t>(c.batches->size());
  // This worker's batches: k % num_workers == worker_id, from first_batch on.
  int64_t k = c.first_batch + ((c.worker_id - c.first_batch % c.num_workers) + c.num_workers) % c.num_workers;
  for (; k < n; k += c.num_workers) {
    if (c.channel->cancelled()) break;
    BatchItem item;
    item.batch_index = k;
    if (!init_error.empty()) {
      item.kind = BatchItem::Kind::Error;
      item.error = init_error;  // every batch of a worker that failed to start fails
    } else {
      try {
        position_generator(scope, info, k);
        item.batch = fetch_map_batch(*c.dataset, (*c.batches)[static_cast<size_t>(k)],
                                     c.auto_batching, c.collate_fn);
        item.kind = BatchItem::Kind::Batch;
      } catch (...) {
        item.kind = BatchItem::Kind::Error;
        item.error = worker_error(c.worker_id, detail::str_cat("while loading batch ", k),
                                  describe_exception(std::current_exception()));
      }
    }
    if (!c.channel->push(std::move(item))) break;
  }
}

void run_iterable_job(const JobContext& c, bool first_job) {
  const WorkerInfo info{c.worker_id, c.num_workers, c.base_seed + static_cast<uint64_t>(c.worker_id)};
  WorkerScope scope(info);
  int64_t local_batch = 0;
  try {
    if (first_job && c.worker_init_fn) c.worker_init_fn(c.worker_id);
    position_generator(scope, info, 0);
    std::unique_ptr<IterableDataset::Iterator> it = c.iterable->iterator();
    bool exhausted = false;
    while (!c.channel->cancelled()) {
      position_generator(scope, info, local_batch);
      std::optional<Value> batch =
          fetch_iterable_batch(*it, exhausted, c.batch_size, c.drop_last, c.collate_fn);
      if (!batch) break;
      BatchItem item;
      item.kind = BatchItem::Kind::Batch;
      item.batch = std::move(*batch);
      item.batch_index = local_batch++;
      if (!c.channel->push(std::move(item))) return;
    }
  } catch (...) {
    // The pass is broken: report, then end this worker's stream.
    BatchItem item;
    item.kind = BatchItem::Kind::Error;
    item.batch_index = local_batch;
    item.error = worker_error(c.worker_id, detail::str_cat("while loading its batch ", local_batch),
                              describe_exception(std::current_exception()));
    if (!c.channel->push(std::move(item))) return;
  }
  BatchItem end;
  end.kind = BatchItem::Kind::End;
  c.channel->push(std::move(end));
}

}  // namespace

// ---- Impl: options, samplers, progress --------------------------------------------------

struct DataLoader::Impl {
  DataLoaderOptions options;
  std::shared_ptr<const Dataset> dataset;
  std::shared_ptr<const IterableDataset> iterable;
  std::shared_ptr<Sampler> sampler;
  std::shared_ptr<BatchSampler> batch_sampler;
  bool auto_batching = true;

  LoaderState progress;                 // generators left empty: read live
  std::optional<LoaderState> resume;    // set by load_state_dict for an epoch in progress
  std::vector<std::unique_ptr<WorkerThread>> persistent_pool;
  Epoch* active = nullptr;

  ~Impl();
  // The generators whose states decide an epoch: the loader's first, then the sampler's.
  std::vector<Generator*> generators() const {
    std::vector<Generator*> out{options.generator ? options.generator : &default_generator()};
    Generator* own = batch_sampler ? batch_sampler->generator() : sampler ? sampler->generator() : nullptr;
    if (own != nullptr && std::find(out.begin(), out.end(), own) == out.end()) out.push_back(own);
    return out;
  }
  std::optional<std::chrono::duration<double>> timeout() const {
    if (options.timeout > 0) return std::chrono::duration<double>(options.timeout);
    return std::nullopt;
  }
};

// ---- Epoch: one pass in progress --------------------------------------------------------

struct DataLoader::Epoch {
  Impl* loader;  // null once the loader is gone
  bool finished = false;
  bool shut_down = false;
  bool timed_out = false;
  bool uses_pool = false;
  Value current;
  uint64_t base_seed = 0;

  // map-style
  std::shared_ptr<const BatchList> batches;
  int64_t next_batch = 0;
  // IterableDataset without workers
  std::unique_ptr<IterableDataset::Iterator> iterator;
  bool exhausted = false;
  // workers
  std::vector<std::shared_ptr<BatchChannel>> channels;
  std::vector<std::unique_ptr<WorkerThread>> own_threads;
  std::vector<int> live_workers;  // IterableDataset: workers whose stream has not ended
  size_t rotation = 0;

  explicit Epoch(Impl* impl) : loader(impl) {}
  ~Epoch() { shutdown(); }

  int num_workers() const { return loader ? loader->options.num_workers : 0; }

  [[noreturn]] void throw_timeout(int64_t batch, int worker) {
    timed_out = true;
    FULGUR_FAIL(kOp, "timed out after ", loader->options.timeout, " s waiting for batch ", batch,
                " from worker ", worker, "; hint: a dataset call is slow or stuck; raise timeout ",
                "(0 waits forever) or check the dataset");
  }

  // Loads the next batch into `current`; false at the end of the pass.
  bool load_next() {
    const DataLoaderOptions& o = loader->options;
    if (batches) {
      if (next_batch >= static_cast<int64_t>(batches->size())) return false;
      const int64_t k = next_batch;
      if (channels.empty()) {
        ++next_batch;
        current = fetch_map_batch(*loader->dataset, (*batches)[static_cast<size_t>(k)],
                                  loader->auto_batching, o.collate_fn);
        return true;
      }
      const int w = static_cast<int>(k % o.num_workers);
      std::optional<BatchItem> item = channels[static_cast<size_t>(w)]->pop(loader->timeout());
      if (!item) throw_timeout(k, w);
      FULGUR_CHECK(item->batch_index == k, kOp, "internal error: expected batch ", k, " from worker ",
                   w, ", got ", item->batch_index);
      ++next_batch;
      if (item->kind == BatchItem::Kind::Error) FULGUR_FAIL(kOp, item->error);
      current = std::move(item->batch);
      return true;
    }
    if (channels.empty()) {
      if (!iterator) iterator = loader->iterable->iterator();
      std::optional<Value> batch =
          fetch_iterable_batch(*iterator, exhausted, o.batch_size, o.drop_last, o.collate_fn);
      if (!batch) return false;
      current = std::move(*batch);
      return true;
    }
    // IterableDataset with workers: round robin over the workers whose streams go on.
    while (!live_workers.empty()) {
      rotation %= live_workers.size();
      const int w = live_workers[rotation];
      std::optional<BatchItem> item = channels[static_cast<size_t>(w)]->pop(loader->timeout());
      if (!item) throw_timeout(loader->progress.batches_yielded, w);
      if (item->kind == BatchItem::Kind::End) {
        live_workers.erase(live_workers.begin() + static_cast<std::ptrdiff_t>(rotation));
        continue;
      }
      ++rotation;
      if (item->kind == BatchItem::Kind::Error) FULGUR_FAIL(kOp, item->error);
      current = std::move(item->batch);
      return true;
    }
    return false;
  }

  // Advances to the next batch and keeps the loader's progress; false at the end.
  bool next() {
    if (finished) return false;
    FULGUR_CHECK(loader != nullptr, kOp, "the DataLoader was destroyed while iterating");
    if (!load_next()) {
      loader->progress.in_progress = false;
      shutdown();  // the pass is over: join (or release) the workers now
      return false;
    }
    if (loader->options.pin_memory) current = pin_memory(std::move(current));
    LoaderState& p = loader->progress;
    ++p.batches_yielded;
    // A map-style pass knows its length: after its last batch the epoch is complete, so a
    // state saved now resumes with the next epoch, not an empty replay of this one.
    if (batches && p.batches_yielded >= static_cast<int64_t>(batches->size())) p.in_progress = false;
    return true;
  }

  void start_workers(const JobContext& base, bool iterable) {
    const DataLoaderOptions& o = loader->options;
    uses_pool = o.persistent_workers;
    if (uses_pool && loader->persistent_pool.empty()) {
      for (int w = 0; w < o.num_workers; ++w) loader->persistent_pool.push_back(std::make_unique<WorkerThread>());
    }
    for (int w = 0; w < o.num_workers; ++w) {
      JobContext c = base;
      c.worker_id = w;
      c.channel = std::make_shared<BatchChannel>(static_cast<size_t>(o.prefetch_factor));
      channels.push_back(c.channel);
      live_workers.push_back(w);
      WorkerThread::Job job = [c = std::move(c), iterable](bool first_job) {
        if (iterable) {
          run_iterable_job(c, first_job);
        } else {
          run_map_job(c, first_job);
        }
        c.channel->mark_done();
      };
      if (uses_pool) {
        loader->persistent_pool[static_cast<size_t>(w)]->submit(std::move(job));
      } else {
        own_threads.push_back(std::make_unique<WorkerThread>());
        own_threads.back()->submit(std::move(job));
      }
    }
  }

  // Cancels what is left of the pass and releases the workers: joins them, or after a
  // timeout detaches them (one may be stuck in a dataset call that never returns).
  void shutdown() {
    if (shut_down) return;
    shut_down = true;
    finished = true;
    for (const auto& channel : channels) channel->cancel();
    if (timed_out) {
      for (auto& t : own_threads) t->abandon();
      if (uses_pool && loader) {
        for (auto& t : loader->persistent_pool) t->abandon();
        loader->persistent_pool.clear();  // the next epoch starts fresh threads
      }
    } else if (uses_pool) {
      // Persistent threads stay; wait until they have left this epoch's jobs.
      for (const auto& channel : channels) channel->wait_done();
    }
    own_threads.clear();  // joins (or detaches the abandoned)
    if (loader && loader->active == this) loader->active = nullptr;
  }
};

DataLoader::Impl::~Impl() {
  if (Epoch* epoch = active) {  // shutdown() clears `active`
    epoch->shutdown();
    epoch->loader = nullptr;
  }
}

// ---- construction -----------------------------------------------------------------------

namespace {

void check_common_options(const DataLoaderOptions& o) {
  FULGUR_CHECK(o.num_workers >= 0, kOp, "num_workers option should be non-negative, got ",
               o.num_workers, "; use num_workers=0 to load on the calling thread");
  FULGUR_CHECK(o.timeout >= 0, kOp, "timeout option should be non-negative, got ", o.timeout);
  FULGUR_CHECK(o.prefetch_factor > 0, kOp, "prefetch_factor must be positive, got ",
               o.prefetch_factor);
  FULGUR_CHECK(o.num_workers > 0 || o.prefetch_factor == 2, kOp,
               "prefetch_factor option could only be specified with workers (got prefetch_factor=",
               o.prefetch_factor, " and num_workers=0); hint: set num_workers > 0");
  FULGUR_CHECK(!o.persistent_workers || o.num_workers > 0, kOp,
               "persistent_workers option needs num_workers > 0");
  FULGUR_CHECK(!o.batch_size || *o.batch_size > 0, kOp,
               "batch_size should be a positive integer value, but got batch_size=", *o.batch_size,
               "; hint: use batch_size = std::nullopt to disable batching");
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  FULGUR_CHECK(dataset != nullptr, kOp, "dataset is null");
  check_common_options(options);
  Impl& s = *impl_;
  FULGUR_CHECK(!(options.sampler && options.shuffle), kOp,
               "sampler option is mutually exclusive with shuffle; hint: shuffle with a ",
               "RandomSampler, or drop the sampler");
  if (options.batch_sampler) {
    FULGUR_CHECK(options.batch_size == 1 && !options.shuffle && !options.sampler && !options.drop_last,
                 kOp, "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, ",
                 "and drop_last (got batch_size=", options.batch_size ? std::to_string(*options.batch_size) : "None",
                 ", shuffle=", options.shuffle, ", sampler=", options.sampler ? "set" : "null",
                 ", drop_last=", options.drop_last, ")");
    s.batch_sampler = options.batch_sampler;
    s.sampler = options.batch_sampler->sampler();
  } else {
    FULGUR_CHECK(options.batch_size || !options.drop_last, kOp,
                 "batch_size=None option disables auto-batching and is mutually exclusive with ",
                 "drop_last");
    if (options.sampler) {
      s.sampler = options.sampler;
    } else if (options.shuffle) {
      s.sampler = std::make_shared<RandomSampler>(dataset->size(),
                                                  RandomSamplerOptions{.generator = options.generator});
    } else {
      s.sampler = std::make_shared<SequentialSampler>(dataset->size());
    }
    if (options.batch_size) {
      s.batch_sampler = std::make_shared<BatchSampler>(s.sampler, *options.batch_size, options.drop_last);
    }
  }
  s.auto_batching = s.batch_sampler != nullptr;
  s.dataset = std::move(dataset);
  s.options = std::move(options);
}

DataLoader::DataLoader(std::shared_ptr<const IterableDataset> dataset, DataLoaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  FULGUR_CHECK(dataset != nullptr, kOp, "dataset is null");
  check_common_options(options);
  FULGUR_CHECK(!options.shuffle, kOp, "DataLoader with IterableDataset: expected unspecified ",
               "shuffle option, but got shuffle=true; hint: shuffle inside the dataset");
  FULGUR_CHECK(!options.sampler, kOp, "DataLoader with IterableDataset: expected unspecified ",
               "sampler option, but got a sampler");
  FULGUR_CHECK(!options.batch_sampler, kOp, "DataLoader with IterableDataset: expected ",
               "unspecified batch_sampler option, but got a batch_sampler");
  FULGUR_CHECK(options.batch_size || !options.drop_last, kOp,
               "batch_size=None option disables auto-batching and is mutually exclusive with ",
               "drop_last");
  impl_->auto_batching = options.batch_size.has_value();
  impl_->iterable = std::move(dataset);
  impl_->options = std::move(options);
}

DataLoader::~DataLoader() = default;
DataLoader::DataLoader(DataLoader&&) noexcept = default;
DataLoader& DataLoader::operator=(DataLoader&&) noexcept = default;

// ---- epochs -----------------------------------------------------------------------------

DataLoader::Iterator DataLoader::begin() {
  FULGUR_CHECK(impl_ != nullptr, kOp, "use of a moved-from DataLoader");
  Impl& s = *impl_;
  if (s.active != nullptr) s.active->shutdown();  // one epoch at a time per loader

  const std::vector<Generator*> generators = s.generators();
  std::optional<LoaderState> resume = std::move(s.resume);
  s.resume.reset();
  std::vector<GeneratorState> live;
  if (resume) {
    FULGUR_CHECK(resume->epoch_start_generators.size() == generators.size(), "DataLoader::begin",
                 "the loaded state has ", resume->epoch_start_generators.size(),
                 " generator states but this loader uses ", generators.size(),
                 "; hint: load a state saved by a loader with the same sampler setup");
    // Replay the saved epoch's draws without disturbing the generators' current positions.
    for (Generator* g : generators) live.push_back(GeneratorState::of(*g));
    for (size_t i = 0; i < generators.size(); ++i) resume->epoch_start_generators[i].apply_to(*generators[i]);
  }
  std::vector<GeneratorState> epoch_start;
  for (Generator* g : generators) epoch_start.push_back(GeneratorState::of(*g));

  auto epoch = std::make_unique<Epoch>(&s);
  std::shared_ptr<BatchList> batches;
  try {
    // As PyTorch: the worker base seed first, then the sampler's pass.
    epoch->base_seed = draw_seed(generators[0]);
    if (s.dataset) {
      if (s.auto_batching) {
        batches = std::make_shared<BatchList>(s.batch_sampler->batches());
      } else {
        batches = std::make_shared<BatchList>();
        for (int64_t i : s.sampler->indices()) batches->push_back({i});
      }
    }
  } catch (...) {
    for (size_t i = 0; i < live.size(); ++i) live[i].apply_to(*generators[i]);
    throw;
  }
  for (size_t i = 0; i < live.size(); ++i) live[i].apply_to(*generators[i]);

  const int64_t skip = resume ? resume->batches_yielded : 0;
  if (batches) {
    FULGUR_CHECK(skip <= static_cast<int64_t>(batches->size()), "DataLoader::begin",
                 "the loaded state has ", skip, " batches yielded but the epoch has only ",
                 batches->size(), "; hint: load a state saved by a loader over the same dataset");
  }
  s.progress.epoch = resume ? resume->epoch : s.progress.epoch + 1;
  s.progress.batches_yielded = skip;
  s.progress.in_progress = true;
  s.progress.epoch_start_generators = epoch_start;
  s.active = epoch.get();
  epoch->batches = batches;
  epoch->next_batch = batches ? skip : 0;

  if (s.options.num_workers > 0) {
    JobContext base;
    base.dataset = s.dataset;
    base.iterable = s.iterable;
    base.batches = batches;
    base.collate_fn = s.options.collate_fn;
    base.worker_init_fn = s.options.worker_init_fn;
    base.batch_size = s.options.batch_size;
    base.auto_batching = s.auto_batching;
    base.drop_last = s.options.drop_last;
    base.num_workers = s.options.num_workers;
    base.base_seed = epoch->base_seed;
    base.first_batch = epoch->next_batch;
    epoch->start_workers(base, /*iterable=*/!batches);
  }
  if (!batches) {
    // An IterableDataset cannot seek: regenerate and drop what was already yielded.
    for (int64_t i = 0; i < skip; ++i) {
      if (!epoch->load_next()) break;
    }
  }
  if (batches && skip == static_cast<int64_t>(batches->size())) s.progress.in_progress = false;
  epoch->next();
  return Iterator(std::move(epoch));
}

int64_t DataLoader::size() const {
  const Impl& s = *impl_;
  if (s.dataset) return s.batch_sampler ? s.batch_sampler->size() : s.sampler->size();
  const std::optional<int64_t> n = s.iterable->size_hint();
  FULGUR_CHECK(n.has_value(), "DataLoader::size",
               "len() is not defined: the IterableDataset has no size_hint(); hint: override ",
               "IterableDataset::size_hint, or count the batches while iterating");
  const std::optional<int64_t>& b = s.options.batch_size;
  if (!b) return *n;
  return s.options.drop_last ? *n / *b : (*n + *b - 1) / *b;
}

Value DataLoader::state_dict() const {
  LoaderState state = impl_->progress;
  for (Generator* g : impl_->generators()) state.generators.push_back(GeneratorState::of(*g));
  return state.to_value();
}

Value DataLoader::state_dict(int64_t batches_consumed) const {
  const int64_t yielded = impl_->progress.batches_yielded;
  FULGUR_CHECK(batches_consumed >= 0 && batches_consumed <= yielded, "DataLoader::state_dict",
               "batches_consumed=", batches_consumed, " but this epoch has yielded ", yielded,
               " batches; hint: pass at most batches_yielded()");
  LoaderState state = impl_->progress;
  if (batches_consumed < yielded) {
    state.batches_yielded = batches_consumed;
    state.in_progress = true;  // the epoch has at least the returned batches left
  }
  for (Generator* g : impl_->generators()) state.generators.push_back(GeneratorState::of(*g));
  return state.to_value();
}

void DataLoader::load_state_dict(const Value& value) {
  LoaderState state = LoaderState::from_value(value);
  Impl& s = *impl_;
  const std::vector<Generator*> generators = s.generators();
  FULGUR_CHECK(state.generators.size() == generators.size(), "DataLoader::load_state_dict",
               "the state has ", state.generators.size(), " generator states but this loader uses ",
               generators.size(), "; hint: load a state saved by a loader with the same sampler setup");
  if (s.active != nullptr) s.active->shutdown();
  for (size_t i = 0; i < generators.size(); ++i) state.generators[i].apply_to(*generators[i]);
  s.progress.epoch = state.epoch;
  s.progress.batches_yielded = state.batches_yielded;
  s.progress.in_progress = state.in_progress;
  s.progress.epoch_start_generators = state.epoch_start_generators;
  s.resume.reset();
  if (state.in_progress) s.resume = std::move(state);
}

int64_t DataLoader::epoch() const { return impl_->progress.epoch; }
int64_t DataLoader::batches_yielded() const { return impl_->progress.batches_yielded; }
const DataLoaderOptions& DataLoader::options() const { return impl_->options; }
const std::shared_ptr<const Dataset>& DataLoader::dataset() const { return impl_->dataset; }
const std::shared_ptr<const IterableDataset>& DataLoader::iterable_dataset() const {
  return impl_->iterable;
}
const std::shared_ptr<Sampler>& DataLoader::sampler() const { return impl_->sampler; }
const std::shared_ptr<BatchSampler>& DataLoader::batch_sampler() const { return impl_->batch_sampler; }

// ---- Iterator ---------------------------------------------------------------------------

DataLoader::Iterator::Iterator(std::unique_ptr<Epoch> epoch) : epoch_(std::move(epoch)) {}
DataLoader::Iterator::Iterator(Iterator&&) noexcept = default;
DataLoader::Iterator& DataLoader::Iterator::operator=(Iterator&&) noexcept = default;
DataLoader::Iterator::~Iterator() = default;

const Value& DataLoader::Iterator::operator*() const {
  FULGUR_CHECK(epoch_ && !epoch_->finished, "DataLoader::Iterator", "dereferenced past the end");
  return epoch_->current;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  FULGUR_CHECK(epoch_ != nullptr, "DataLoader::Iterator", "incremented past the end");
  epoch_->next();
  return *this;
}

bool DataLoader::Iterator::operator==(Sentinel) const { return !epoch_ || epoch_->finished; }

}  // namespace fulgur::data
