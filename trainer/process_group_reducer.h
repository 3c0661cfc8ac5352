// metrics::Reducer over a distributed::ProcessGroup: how metric objects sync their states
// across the ranks of a DDP run before compute() (torchmetrics' sync_on_compute).
#pragma once

#include <memory>
#include <vector>

#include "fulgur/distributed/process_group.h"
#include "fulgur/trainer/metrics/reducer.h"

namespace fulgur::lightning {

class ProcessGroupReducer : public metrics::Reducer {
 public:
  // States are reduced on `device` (the strategy's root device: NCCL takes CUDA tensors only)
  // and returned on their own device.
  ProcessGroupReducer(std::shared_ptr<distributed::ProcessGroup> group, Device device)
      : group_(std::move(group)), device_(device) {}
  int64_t world_size() const override { return group_->size(); }
  Tensor all_reduce(const Tensor& t, Op op) const override;
  // Sizes along dim 0 may differ: each rank's tensor travels as bytes (from host memory) with
  // its shape.
  std::vector<Tensor> all_gather(const Tensor& t) const override;

 private:
  std::shared_ptr<distributed::ProcessGroup> group_;
  Device device_;
};

}  // namespace fulgur::lightning
