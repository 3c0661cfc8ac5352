// L::Batch, what the step hooks receive (one collated batch of a DataLoader), and
// L::StepOutput, what training_step returns.
//
//   L::StepOutput training_step(const L::Batch& batch, int64_t) override {
//     auto [x, y] = batch.unpack<2>();
//     return F::mse_loss(forward(x), y);              // or {{"loss", loss}, {"n", 3}}
//   }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "fulgur/tensor/value.h"

namespace fulgur::lightning {

class Batch {
 public:
  Batch() = default;
  Batch(Value value) : value_(std::move(value)) {}  // NOLINT: a DataLoader's batch
  Batch(Tensor t) : value_(std::move(t)) {}         // NOLINT

  const Value& value() const { return value_; }
  Value& value() { return value_; }
  // The batch itself when it is a tensor, else its element i (a list or tuple of tensors).
  const Tensor& tensor(size_t i = 0) const;
  const Value& operator[](size_t i) const { return value_[i]; }
  // Elements of a list/tuple batch (1 for a lone tensor).
  size_t size() const;
  // The first N elements of a (x, y, ...) batch as tensors; throws fulgur::Error naming what
  // the batch holds when it has fewer than N or one is not a tensor.
  template <size_t N>
  std::array<Tensor, N> unpack() const {
    check_unpack(N);
    std::array<Tensor, N> out;
    for (size_t i = 0; i < N; ++i) out[i] = tensor(i);
    return out;
  }
  // Lightning's extract_batch_size: size(0) of the first tensor found (depth first; a 0-dim
  // tensor counts 1); 1 when there is none.
  int64_t batch_size() const;

 private:
  void check_unpack(size_t n) const;
  Value value_;
};

class StepOutput {
 public:
  StepOutput() = default;  // None: Lightning skips backward and the step's loss
  // An undefined tensor (`return Tensor();`) is None, as returning None is in Lightning.
  StepOutput(Tensor loss) : value_(loss.defined() ? Value(std::move(loss)) : Value()) {}  // NOLINT
  StepOutput(std::initializer_list<std::pair<std::string, Value>> items);  // NOLINT: {{"loss", l}, ...}
  // A tensor, None, or a dict with string keys.
  static StepOutput from_value(Value v);

  bool is_none() const { return value_.is_none(); }
  bool has_loss() const;
  // The tensor, or the dict's "loss"; throws Lightning's message when a dict lacks it.
  Tensor loss() const;
  const Value& value() const { return value_; }
  // Lightning's outputs for on_*_batch_end: {"loss": loss, other keys...}.
  Value as_dict() const;

 private:
  Value value_;
};

}  // namespace fulgur::lightning
