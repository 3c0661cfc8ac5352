#include "fulgur/data/concat_dataset.h"

#include <algorithm>

#include "fulgur/kernels/error.h"

namespace fulgur::data {

ConcatDataset::ConcatDataset(std::vector<std::shared_ptr<const Dataset>> datasets)
    : datasets_(std::move(datasets)) {
  FULGUR_CHECK(!datasets_.empty(), "ConcatDataset", "datasets should not be an empty iterable");
  int64_t total = 0;
  for (size_t i = 0; i < datasets_.size(); ++i) {
    FULGUR_CHECK(datasets_[i] != nullptr, "ConcatDataset", "dataset ", i, " is null");
    total += datasets_[i]->size();
    cumulative_sizes_.push_back(total);
  }
}

Value ConcatDataset::get(int64_t index) const {
  FULGUR_CHECK(index >= 0 && index < size(), "ConcatDataset::get", "index ", index,
               " is out of range for a dataset of size ", size());
  // First dataset whose running size exceeds index (PyTorch's bisect_right).
  const auto it = std::upper_bound(cumulative_sizes_.begin(), cumulative_sizes_.end(), index);
  const size_t k = static_cast<size_t>(it - cumulative_sizes_.begin());
  const int64_t start = k == 0 ? 0 : cumulative_sizes_[k - 1];
  return datasets_[k]->get(index - start);
}

}  // namespace fulgur::data
