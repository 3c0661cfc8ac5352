#include "fulgur/data/subset.h"

#include "fulgur/kernels/error.h"

namespace fulgur::data {

Subset::Subset(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  FULGUR_CHECK(dataset_ != nullptr, "Subset", "dataset is null");
  const int64_t n = dataset_->size();
  for (size_t i = 0; i < indices_.size(); ++i) {
    FULGUR_CHECK(indices_[i] >= 0 && indices_[i] < n, "Subset", "indices[", i, "] = ", indices_[i],
                 " is out of range for a dataset of size ", n);
  }
}

Value Subset::get(int64_t index) const {
  FULGUR_CHECK(index >= 0 && index < size(), "Subset::get", "index ", index,
               " is out of range for a subset of size ", size());
  return dataset_->get(indices_[static_cast<size_t>(index)]);
}

std::optional<Value> Subset::get_batch(std::span<const int64_t> indices) const {
  std::vector<int64_t> mapped;
  mapped.reserve(indices.size());
  for (int64_t index : indices) {
    FULGUR_CHECK(index >= 0 && index < size(), "Subset::get_batch", "index ", index,
                 " is out of range for a subset of size ", size());
    mapped.push_back(indices_[static_cast<size_t>(index)]);
  }
  return dataset_->get_batch(mapped);
}

}  // namespace fulgur::data
