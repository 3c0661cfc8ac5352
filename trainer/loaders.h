// Loaders: what a *_dataloader() hook returns. Lightning accepts one DataLoader or several
// (a list; validation and test then pass dataloader_idx to the step hooks); so does this
// type, built implicitly from either.
//
//   L::Loaders train_dataloader() override { return data::DataLoader(train_, {.batch_size = 64}); }
//   L::Loaders val_dataloader() override { return {data::DataLoader(a, ...), data::DataLoader(b, ...)}; }
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "fulgur/data/combined_loader.h"
#include "fulgur/data/dataloader.h"

namespace fulgur::lightning {

class Loaders {
 public:
  Loaders() = default;  // none
  Loaders(data::DataLoader&& loader) { add(std::move(loader)); }                         // NOLINT
  // A loader the caller keeps (trainer.fit(model, train_dl, val_dl)): borrowed, so it must
  // outlive the Trainer call it is given to.
  Loaders(data::DataLoader& loader)  // NOLINT
      : loaders_{std::shared_ptr<data::DataLoader>(&loader, [](data::DataLoader*) {})} {}
  Loaders(std::shared_ptr<data::DataLoader> loader) { loaders_.push_back(std::move(loader)); }  // NOLINT
  Loaders(std::vector<std::shared_ptr<data::DataLoader>> loaders) : loaders_(std::move(loaders)) {}  // NOLINT
  // {loader_a, loader_b}: DataLoader is move-only, so an initializer list cannot hold it; the
  // loaders are given as a vector of values instead.
  Loaders(std::vector<data::DataLoader> loaders) {  // NOLINT
    for (data::DataLoader& l : loaders) add(std::move(l));
  }

  // Lightning's CombinedLoader (data/combined_loader.h): its items are the step's batches.
  Loaders(const data::CombinedLoader& combined) { add(combined.loader()); }  // NOLINT

  Loaders& add(data::DataLoader loader) {
    loaders_.push_back(std::make_shared<data::DataLoader>(std::move(loader)));
    return *this;
  }

  bool empty() const { return loaders_.empty(); }
  size_t size() const { return loaders_.size(); }
  data::DataLoader& operator[](size_t i) const { return *loaders_.at(i); }
  const std::vector<std::shared_ptr<data::DataLoader>>& all() const { return loaders_; }

 private:
  std::vector<std::shared_ptr<data::DataLoader>> loaders_;
};

}  // namespace fulgur::lightning
