#include "fulgur/data/combined_loader.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "fulgur/kernels/error.h"

namespace fulgur::data {
namespace {

const char* const kModes[] = {"max_size_cycle", "max_size", "min_size", "sequential"};

void check_mode(const std::string& mode) {
  const bool known = std::find(std::begin(kModes), std::end(kModes), mode) != std::end(kModes);
  FULGUR_CHECK(known, "CombinedLoader", "Unsupported mode '", mode,
               "', please select one of: ['min_size', 'max_size_cycle', 'max_size', 'sequential']");
}

// One loader's running epoch, started lazily (a loader that is never reached never starts).
struct Cursor {
  std::shared_ptr<DataLoader> loader;
  std::optional<DataLoader::Iterator> it;
  bool exhausted = false;

  // The next batch of the current epoch, or nullopt at its end (the epoch is then over).
  std::optional<Value> next() {
    if (exhausted) return std::nullopt;
    if (!it) {
      it.emplace(loader->begin());
    } else {
      ++*it;
    }
    if (*it == DataLoader::Sentinel{}) {
      it.reset();
      exhausted = true;
      return std::nullopt;
    }
    return **it;
  }
  void restart() {
    it.reset();
    exhausted = false;
  }
};

}  // namespace

// max_size_cycle, max_size, min_size: one batch per loader per item.
class CombinedIterable::CycleIterator : public IterableDataset::Iterator {
 public:
  explicit CycleIterator(const CombinedIterable& owner) : owner_(owner), remaining_(owner.size()) {
    for (const auto& l : owner.loaders_) cursors_.push_back(Cursor{l});
  }
  std::optional<Value> next() override {
    if (remaining_ <= 0) return std::nullopt;
    --remaining_;
    std::vector<Value> batches;
    for (Cursor& c : cursors_) {
      std::optional<Value> b = c.next();
      if (!b && owner_.mode_ == "max_size_cycle") {
        c.restart();  // Lightning's _MaxSizeCycle: iter(loader) again
        b = c.next();
      }
      batches.push_back(b ? std::move(*b) : Value());
    }
    return pack(std::move(batches));
  }

 private:
  Value pack(std::vector<Value> batches) const {
    if (owner_.names_.empty()) return Value::list(std::move(batches));
    Value dict = Value::dict();
    for (size_t i = 0; i < batches.size(); ++i) dict.set(owner_.names_[i], std::move(batches[i]));
    return dict;
  }
  const CombinedIterable& owner_;
  std::vector<Cursor> cursors_;
  int64_t remaining_;
};

// sequential: (batch, batch_idx, dataloader_idx), loader after loader.
class CombinedIterable::SequentialIterator : public IterableDataset::Iterator {
 public:
  explicit SequentialIterator(const CombinedIterable& owner) {
    for (const auto& l : owner.loaders_) cursors_.push_back(Cursor{l});
  }
  std::optional<Value> next() override {
    while (current_ < cursors_.size()) {
      if (std::optional<Value> b = cursors_[current_].next()) {
        return Value::tuple({std::move(*b), Value(batch_idx_++), Value(static_cast<int64_t>(current_))});
      }
      ++current_;
      batch_idx_ = 0;
    }
    return std::nullopt;
  }

 private:
  std::vector<Cursor> cursors_;
  size_t current_ = 0;
  int64_t batch_idx_ = 0;
};

CombinedIterable::CombinedIterable(std::vector<std::string> names, std::vector<std::shared_ptr<DataLoader>> loaders,
                                   std::string mode)
    : names_(std::move(names)), loaders_(std::move(loaders)), mode_(std::move(mode)) {
  check_mode(mode_);
  FULGUR_CHECK(!loaders_.empty(), "CombinedLoader", "no loaders given; hint: pass at least one DataLoader");
  for (size_t i = 0; i < loaders_.size(); ++i) {
    FULGUR_CHECK(loaders_[i] != nullptr, "CombinedLoader", "loader ", i, " is null");
    FULGUR_CHECK(mode_ != "max_size_cycle" || loaders_[i]->size() > 0, "CombinedLoader", "loader ",
                 names_.empty() ? std::to_string(i) : "'" + names_[i] + "'",
                 " has no batches, so mode 'max_size_cycle' could never cycle it; hint: drop it or use mode "
                 "'max_size'");
  }
}

int64_t CombinedIterable::size() const {
  std::vector<int64_t> sizes;
  for (const auto& l : loaders_) sizes.push_back(l->size());
  if (mode_ == "min_size") return *std::min_element(sizes.begin(), sizes.end());
  if (mode_ == "sequential") return std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  return *std::max_element(sizes.begin(), sizes.end());
}

std::unique_ptr<IterableDataset::Iterator> CombinedIterable::iterator() const {
  if (mode_ == "sequential") return std::make_unique<SequentialIterator>(*this);
  return std::make_unique<CycleIterator>(*this);
}

CombinedLoader::CombinedLoader(std::vector<std::shared_ptr<DataLoader>> loaders, std::string mode)
    : iterable_(std::make_shared<CombinedIterable>(std::vector<std::string>{}, std::move(loaders), std::move(mode))) {}

CombinedLoader::CombinedLoader(Named loaders, std::string mode) {
  std::vector<std::string> names;
  std::vector<std::shared_ptr<DataLoader>> list;
  for (auto& [name, loader] : loaders) {
    FULGUR_CHECK(std::find(names.begin(), names.end(), name) == names.end(), "CombinedLoader", "the name '", name,
                 "' is given twice");
    names.push_back(name);
    list.push_back(std::move(loader));
  }
  iterable_ = std::make_shared<CombinedIterable>(std::move(names), std::move(list), std::move(mode));
}

DataLoader CombinedLoader::loader() const {
  return DataLoader(std::static_pointer_cast<const IterableDataset>(iterable_), {.batch_size = std::nullopt});
}

}  // namespace fulgur::data
