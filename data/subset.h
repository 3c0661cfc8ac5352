// Subset: a view of a dataset at the given indices (torch.utils.data.Subset). It shares the
// underlying dataset, and forwards get_batch (with the indices mapped) so that a Subset of a
// TensorDataset, e.g. a random_split part, keeps the one-gather fast path.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "fulgur/data/dataset.h"

namespace fulgur::data {

class Subset : public Dataset {
 public:
  // Indices are checked against dataset->size() here, once.
  Subset(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> indices);

  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Value get(int64_t index) const override;
  std::optional<Value> get_batch(std::span<const int64_t> indices) const override;

  const std::shared_ptr<const Dataset>& dataset() const { return dataset_; }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::vector<int64_t> indices_;
};

}  // namespace fulgur::data
