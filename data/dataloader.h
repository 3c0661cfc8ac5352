// DataLoader: batches from a dataset, in sampler order, optionally loaded by worker threads
// (torch.utils.data.DataLoader).
//
//   data::DataLoader loader(dataset, {.batch_size = 64, .shuffle = true, .num_workers = 4});
//   for (const Value& batch : loader) { ... }   // one epoch; loop again for the next
//
// Options, their defaults and their errors follow PyTorch 1.13. Differences, and why:
//  - Workers are threads, not processes (no pickling, one address space). Each runs inside a
//    data::WorkerScope: get_worker_info() gives {id, num_workers, seed = base_seed + id} and
//    current_generator() that worker's generator. base_seed is drawn from the loader's
//    generator at the start of every epoch, as PyTorch does, also with persistent workers
//    (PyTorch keeps the first epoch's seed there; a fresh one avoids repeating the same
//    augmentations every epoch and is what makes resume exact).
//  - Before each batch, the worker's generator is set to counter batch_index * 2^32 of its
//    seed, so a batch's random transforms depend only on (base_seed, worker, batch index),
//    never on which batches that worker loaded before: exact mid-epoch resume needs that.
//    Batch k goes to worker k % num_workers (PyTorch's round robin).
//  - A sampler produces a whole pass up front (data/sampler.h), so samplers are finite.
//  - timeout applies to waits on workers (as in PyTorch, it has no effect with
//    num_workers = 0). A worker still stuck in a dataset call when the loader goes away is
//    detached rather than joined, so destruction never hangs.
//  - Without auto-batching (batch_size = nullopt), examples are returned as they are; a
//    collate_fn, if given, receives a one-example vector (PyTorch passes the bare example).
//  - pin_memory puts every batch's CPU tensors in page-locked memory when the process has a
//    CUDA device (pin_memory.h), and keeps them as they are otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <variant>

#include "fulgur/data/batch_sampler.h"
#include "fulgur/data/collate.h"
#include "fulgur/data/dataset.h"
#include "fulgur/data/sampler.h"
#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/value.h"

namespace fulgur::data {

// PyTorch's keyword arguments, in PyTorch's order (designated initializers must follow it).
struct DataLoaderOptions {
  // nullopt disables auto-batching: each example is yielded on its own.
  std::optional<int64_t> batch_size = 1;
  bool shuffle = false;
  std::shared_ptr<Sampler> sampler = nullptr;            // exclusive with shuffle
  std::shared_ptr<BatchSampler> batch_sampler = nullptr;  // exclusive with batch_size, shuffle,
                                                          // sampler, drop_last
  int num_workers = 0;  // worker threads; 0 loads on the iterating thread
  CollateFn collate_fn = nullptr;  // null: default_collate (and the dataset's get_batch)
  bool pin_memory = false;
  bool drop_last = false;
  double timeout = 0;  // seconds to wait for a worker's batch; 0 waits forever
  // Called on each worker thread once, after its WorkerScope is installed, with the id.
  std::function<void(int worker_id)> worker_init_fn = nullptr;
  // Shuffling and worker seeds; not owned, must outlive the loader. Null: default_generator(),
  // so fulgur::manual_seed(s) makes the loader reproducible.
  Generator* generator = nullptr;
  int prefetch_factor = 2;  // batches in flight per worker
  bool persistent_workers = false;  // keep worker threads between epochs
};

class DataLoader {
  struct Impl;
  struct Epoch;

 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  DataLoader(std::shared_ptr<const IterableDataset> dataset, DataLoaderOptions options = {});
  // A dataset given by value is moved into a shared_ptr: DataLoader(TensorDataset(x, y), ...).
  template <typename D>
    requires(std::is_base_of_v<Dataset, D> || std::is_base_of_v<IterableDataset, D>)
  DataLoader(D dataset, DataLoaderOptions options = {})  // NOLINT: implicit is the point
      : DataLoader(to_shared(std::move(dataset)), std::move(options)) {}

  ~DataLoader();  // ends the running epoch, joins all worker threads
  DataLoader(DataLoader&&) noexcept;
  DataLoader& operator=(DataLoader&&) noexcept;

  struct Sentinel {};
  // One epoch in progress. Move-only; destroying it (the end of a range-for, a `break`)
  // cancels the epoch's remaining loads and joins its worker threads.
  class Iterator {
   public:
    using value_type = Value;
    using difference_type = std::ptrdiff_t;

    Iterator(Iterator&&) noexcept;
    Iterator& operator=(Iterator&&) noexcept;
    ~Iterator();

    const Value& operator*() const;
    const Value* operator->() const { return &**this; }
    // Loads (waits for) the next batch; worker errors and timeouts throw fulgur::Error here.
    Iterator& operator++();
    bool operator==(Sentinel) const;

   private:
    friend class DataLoader;
    explicit Iterator(std::unique_ptr<Epoch> epoch);
    std::unique_ptr<Epoch> epoch_;
  };

  // Starts an epoch (or resumes the one saved by load_state_dict) and loads its first batch.
  // Starting an epoch ends any previous one still in progress on this loader.
  Iterator begin();
  Sentinel end() const { return {}; }

  // len(loader): batches per epoch. Map-style: len(batch_sampler), or len(sampler) without
  // auto-batching. IterableDataset: from size_hint() (floor with drop_last, else ceil);
  // throws if the dataset has none. With several workers an IterableDataset may yield more
  // (each worker's last batch may be partial), as in PyTorch.
  int64_t size() const;

  // Where the loader is, for exact resume (Lightning's mid-epoch restart):
  //   {"epoch": index of the latest epoch started (-1: none), "batches_yielded": in that
  //    epoch, "in_progress": whether it has batches left, "epoch_start_generators": the
  //    [seed, offset] of each generator deciding the order when that epoch started,
  //    "generators": their [seed, offset] now}
  // The generators are the loader's (or default_generator()) and the sampler's if different.
  Value state_dict() const;
  // The same, as if only the first `batches_consumed` batches of the current epoch had been
  // handed out (0 <= batches_consumed <= batches_yielded()): for a save made while a fetched
  // batch was still being processed, so that a resume fetches that batch again.
  Value state_dict(int64_t batches_consumed) const;
  // Restores the generators to their saved positions; if the saved epoch was in progress, the
  // next begin() replays its order (without disturbing the generators) and yields only the
  // batches not yet yielded, so the run continues exactly as the uninterrupted one.
  void load_state_dict(const Value& state);

  int64_t epoch() const;            // as in state_dict
  int64_t batches_yielded() const;  // as in state_dict
  const DataLoaderOptions& options() const;
  // The map-style dataset (null for an IterableDataset) and the samplers in use (the ones
  // built from batch_size/shuffle/drop_last when not given; batch_sampler null without
  // auto-batching).
  const std::shared_ptr<const Dataset>& dataset() const;
  const std::shared_ptr<const IterableDataset>& iterable_dataset() const;
  const std::shared_ptr<Sampler>& sampler() const;
  const std::shared_ptr<BatchSampler>& batch_sampler() const;

 private:
  template <typename D>
  static auto to_shared(D dataset) {
    if constexpr (std::is_base_of_v<Dataset, D>) {
      return std::shared_ptr<const Dataset>(std::make_shared<const D>(std::move(dataset)));
    } else {
      return std::shared_ptr<const IterableDataset>(std::make_shared<const D>(std::move(dataset)));
    }
  }

  std::unique_ptr<Impl> impl_;
};

}  // namespace fulgur::data
