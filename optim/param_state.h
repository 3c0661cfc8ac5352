// ParamStateMap: per-parameter optimizer state keyed by the parameter's identity (PyTorch's
// optimizer.state[p]), iterated in creation order, which is the order state_dict() lists it.
#pragma once

#include <cstddef>
#include <deque>
#include <unordered_map>
#include <utility>

#include "fulgur/tensor/tensor.h"

namespace fulgur::optim {

template <typename State>
class ParamStateMap {
 public:
  using Entry = std::pair<const TensorImpl*, State>;

  State* find(const Tensor& param) {
    const auto it = index_.find(param.impl_ptr().get());
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  // The parameter's state, created (value-initialised, at the end of the order) if absent;
  // `created` says which.
  State& get_or_create(const Tensor& param, bool* created = nullptr) {
    const TensorImpl* key = param.impl_ptr().get();
    const auto [it, inserted] = index_.try_emplace(key, entries_.size());
    if (inserted) entries_.emplace_back(key, State{});  // a deque keeps earlier references valid
    if (created) *created = inserted;
    return entries_[it->second].second;
  }
  const std::deque<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  void clear() {
    entries_.clear();
    index_.clear();
  }
  void swap(ParamStateMap& other) {
    entries_.swap(other.entries_);
    index_.swap(other.index_);
  }

 private:
  std::deque<Entry> entries_;
  std::unordered_map<const TensorImpl*, size_t> index_;
};

}  // namespace fulgur::optim
