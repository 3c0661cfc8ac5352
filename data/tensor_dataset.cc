#include "fulgur/data/tensor_dataset.h"

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::data {

TensorDataset::TensorDataset(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
  const char* op = "TensorDataset";
  FULGUR_CHECK(!tensors_.empty(), op, "needs at least one tensor");
  for (size_t i = 0; i < tensors_.size(); ++i) {
    FULGUR_CHECK(tensors_[i].defined(), op, "tensor ", i, " is undefined");
    FULGUR_CHECK(tensors_[i].dim() >= 1, op, "tensor ", i,
                 " is 0-dimensional; examples are indexed along dim 0");
    FULGUR_CHECK(tensors_[i].size(0) == tensors_[0].size(0), op,
                 "Size mismatch between tensors: tensor 0 has shape ", shape_str(tensors_[0].sizes()),
                 " but tensor ", i, " has shape ", shape_str(tensors_[i].sizes()),
                 "; hint: all tensors must have the same size in dim 0");
  }
  size_ = tensors_[0].size(0);
}

Value TensorDataset::get(int64_t index) const {
  FULGUR_CHECK(index >= 0 && index < size_, "TensorDataset::get", "index ", index,
               " is out of range for a dataset of size ", size_);
  std::vector<Value> items;
  items.reserve(tensors_.size());
  for (const Tensor& t : tensors_) items.emplace_back(t.select(0, index));
  return Value::tuple(std::move(items));
}

std::optional<Value> TensorDataset::get_batch(std::span<const int64_t> indices) const {
  for (int64_t index : indices) {
    FULGUR_CHECK(index >= 0 && index < size_, "TensorDataset::get_batch", "index ", index,
                 " is out of range for a dataset of size ", size_);
  }
  const Tensor rows = from_vector(std::vector<int64_t>(indices.begin(), indices.end()));
  std::vector<Value> items;
  items.reserve(tensors_.size());
  for (const Tensor& t : tensors_) {
    // Same device as the data: index_select wants the index beside it.
    items.emplace_back(t.index_select(0, rows.to(t.device())));
  }
  return Value::list(std::move(items));
}

}  // namespace fulgur::data
