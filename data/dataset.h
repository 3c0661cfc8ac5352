// Dataset and IterableDataset: where a DataLoader gets its examples.
//
// An example (and a batch) is a fulgur::Value tree, as in PyTorch where __getitem__ may
// return a tensor, a tuple (image, label), or a dict of tensors: the default collate stacks
// such trees leaf by leaf. Datasets are read from several worker threads at once, so get()
// is const and must be safe to call concurrently; per-example randomness (RandomCrop, ...)
// draws from data::current_generator(), which the loader seeds per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "fulgur/tensor/value.h"

namespace fulgur::data {

// A map-style dataset (torch.utils.data.Dataset with __len__ and __getitem__).
class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  // Example `index`, 0 <= index < size(); out of range throws fulgur::Error.
  virtual Value get(int64_t index) const = 0;

  // Several examples at once, already collated into a batch (PyTorch's __getitems__).
  // Datasets that can gather a batch faster than get() + collate (one index_select over a
  // big tensor instead of 64 small tensors) override this; nullopt means "not supported,
  // use get() and the loader's collate". Only used with the default collate.
  virtual std::optional<Value> get_batch(std::span<const int64_t> indices) const {
    return std::nullopt;
  }
};

// A stream of examples (torch.utils.data.IterableDataset). Each call of iterator() starts
// a new pass. With several workers each worker gets its own iterator; as in PyTorch, the
// dataset splits the work itself by looking at data::get_worker_info().
class IterableDataset {
 public:
  class Iterator {
   public:
    virtual ~Iterator() = default;
    // The next example, or nullopt at the end of the pass.
    virtual std::optional<Value> next() = 0;
  };

  virtual ~IterableDataset() = default;
  virtual std::unique_ptr<Iterator> iterator() const = 0;
  // The number of examples if known (then len(loader) is defined), else nullopt.
  virtual std::optional<int64_t> size_hint() const { return std::nullopt; }
};

}  // namespace fulgur::data
