// TensorDataset: examples are slices along dim 0 of tensors that share that size
// (torch.utils.data.TensorDataset). get(i) is the tuple (t0[i], t1[i], ...), views of the
// tensors (no copy). get_batch gathers a whole batch with one index_select per tensor and
// returns what the default collate would build from get(): a list (default_collate turns
// tuples into lists) of [batch, ...] tensors.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "fulgur/data/dataset.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::data {

class TensorDataset : public Dataset {
 public:
  // At least one tensor; all with dim >= 1 and the same size(0).
  explicit TensorDataset(std::vector<Tensor> tensors);
  template <std::same_as<Tensor>... Rest>
  explicit TensorDataset(Tensor first, Rest... rest)
      : TensorDataset(std::vector<Tensor>{std::move(first), std::move(rest)...}) {}

  int64_t size() const override { return size_; }
  Value get(int64_t index) const override;
  std::optional<Value> get_batch(std::span<const int64_t> indices) const override;

  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
  int64_t size_ = 0;
};

}  // namespace fulgur::data
