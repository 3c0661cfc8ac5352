// CombinedLoader: several DataLoaders iterated together (Lightning's
// lightning.pytorch.utilities.CombinedLoader), e.g. to train on two datasets at once.
//
//   data::CombinedLoader combined({{"a", loader_a}, {"b", loader_b}}, "max_size_cycle");
//   for (const Value& batch : combined.loader()) { batch.at("a"); batch.at("b"); }
//   trainer.fit(model, combined);   // Trainer.fit combines several train loaders this way itself
//
// Modes (Lightning's names, lengths and item shapes):
//   "max_size_cycle"  as many items as the longest loader; a shorter loader starts over (a new
//                     epoch of its own) when it runs out. Trainer.fit's default.
//   "max_size"        as many items as the longest; a loader that ran out gives None.
//   "min_size"        as many items as the shortest.
//   "sequential"      the loaders one after another; each item is the tuple
//                     (batch, batch_idx, dataloader_idx).
// Other modes: each item holds one batch per loader, a dict for named loaders, else a list in
// the loaders' order. Loaders are shared, not copied: iterating the combined loader iterates
// them (and advances their epochs and shuffling).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/data/dataloader.h"
#include "fulgur/data/dataset.h"

namespace fulgur::data {

// The IterableDataset behind CombinedLoader::loader(): one item per combined step.
class CombinedIterable : public IterableDataset {
 public:
  CombinedIterable(std::vector<std::string> names, std::vector<std::shared_ptr<DataLoader>> loaders,
                   std::string mode);
  std::unique_ptr<Iterator> iterator() const override;
  std::optional<int64_t> size_hint() const override { return size(); }
  int64_t size() const;
  const std::string& mode() const { return mode_; }
  size_t num_loaders() const { return loaders_.size(); }

 private:
  class CycleIterator;
  class SequentialIterator;
  std::vector<std::string> names_;  // empty: unnamed (items are lists)
  std::vector<std::shared_ptr<DataLoader>> loaders_;
  std::string mode_;
};

class CombinedLoader {
 public:
  using Named = std::vector<std::pair<std::string, std::shared_ptr<DataLoader>>>;

  // Throws fulgur::Error for an unknown mode (listing the four), no loaders, a null loader,
  // or an empty loader in "max_size_cycle" (it could never give a batch to cycle).
  CombinedLoader(std::vector<std::shared_ptr<DataLoader>> loaders, std::string mode = "max_size_cycle");
  CombinedLoader(Named loaders, std::string mode = "max_size_cycle");

  // Items per pass (Lightning's len): longest, shortest, or the sum for "sequential".
  int64_t size() const { return iterable_->size(); }
  const std::string& mode() const { return iterable_->mode(); }
  // A DataLoader without auto-batching or workers over the combined items: what to iterate
  // (or hand to the Trainer).
  DataLoader loader() const;
  const std::shared_ptr<const CombinedIterable>& iterable() const { return iterable_; }

 private:
  std::shared_ptr<const CombinedIterable> iterable_;
};

}  // namespace fulgur::data
