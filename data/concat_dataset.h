// ConcatDataset: several datasets one after the other (torch.utils.data.ConcatDataset).
// Index i goes to the dataset whose range of the running sizes contains it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fulgur/data/dataset.h"

namespace fulgur::data {

class ConcatDataset : public Dataset {
 public:
  // At least one dataset, none null.
  explicit ConcatDataset(std::vector<std::shared_ptr<const Dataset>> datasets);

  int64_t size() const override { return cumulative_sizes_.back(); }
  Value get(int64_t index) const override;

  const std::vector<std::shared_ptr<const Dataset>>& datasets() const { return datasets_; }
  // cumulative_sizes()[k] = total size of datasets 0..k (PyTorch's cumulative_sizes).
  const std::vector<int64_t>& cumulative_sizes() const { return cumulative_sizes_; }

 private:
  std::vector<std::shared_ptr<const Dataset>> datasets_;
  std::vector<int64_t> cumulative_sizes_;
};

}  // namespace fulgur::data
