// metrics::Reducer: the cross-process collectives a Metric needs to sync its states.
//
// Metric::sync() (and compute(), when a reducer is set) calls these once per state, in the
// order the states were added, on every process. The distributed layer implements this
// interface over MPI / NCCL; tests implement it in-process. A single process needs none:
// without a reducer, compute() works on the local states.
#pragma once

#include <cstdint>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur::metrics {

class Reducer {
 public:
  enum class Op { Sum, Max, Min };

  virtual ~Reducer() = default;
  // Number of processes taking part; 1 means there is nothing to sync.
  virtual int64_t world_size() const = 0;
  // The element-wise reduction of `t` over all processes. Every process passes a tensor of
  // the same shape and dtype; the result has that shape and dtype.
  virtual Tensor all_reduce(const Tensor& t, Op op) const = 0;
  // Every process's `t`, in rank order. Sizes along dim 0 may differ between processes (a
  // rank may even have none: size 0); the other dims and the dtype are the same everywhere.
  virtual std::vector<Tensor> all_gather(const Tensor& t) const = 0;
};

}  // namespace fulgur::metrics
