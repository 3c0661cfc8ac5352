// HostStagedProcessGroup: a CPU-only backend (MPI: not assumed CUDA-aware) serving CUDA
// tensors by staging them through host memory, as torch's gloo backend does. Each collective
// on a device tensor copies it to the host, runs the inner group's collective there and copies
// the result back into the device tensor (all_gather / reduce_scatter return device tensors);
// CPU tensors go straight to the inner group. Costs two copies per call: NCCL
// (nccl_process_group.h) is the fast path between GPUs; this is what runs when NCCL is absent
// or not wanted (process_group_backend="mpi" on GPUs), and what DDP on the emulated device
// runs in CI.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fulgur/distributed/process_group.h"

namespace fulgur::distributed {

class HostStagedProcessGroup final : public ProcessGroup {
 public:
  explicit HostStagedProcessGroup(std::shared_ptr<ProcessGroup> inner);

  std::string backend() const override { return inner_->backend(); }
  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  const std::shared_ptr<ProcessGroup>& inner() const { return inner_; }

  void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) override;
  // The host copy is reduced asynchronously; wait() copies it back into `tensor`.
  std::unique_ptr<Work> all_reduce_async(Tensor tensor, ReduceOp op = ReduceOp::Sum) override;
  void broadcast(Tensor& tensor, int root = 0) override;
  Tensor all_gather(const Tensor& tensor) override;
  Tensor reduce_scatter(const Tensor& input, ReduceOp op = ReduceOp::Sum) override;
  void barrier() override { inner_->barrier(); }

  std::vector<std::string> all_gather_bytes(const std::string& bytes) override {
    return inner_->all_gather_bytes(bytes);
  }
  std::string broadcast_bytes(const std::string& bytes, int root = 0) override {
    return inner_->broadcast_bytes(bytes, root);
  }
  [[noreturn]] void abort(int exit_code, const std::string& why) override;

 private:
  std::shared_ptr<ProcessGroup> inner_;
};

}  // namespace fulgur::distributed
