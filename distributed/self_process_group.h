// SelfProcessGroup: the process group of a job with one process (world size 1), without MPI.
// Every collective is what it is on one rank: all_reduce and broadcast leave the tensor as it
// is (Avg divides by 1), all_gather stacks the one tensor into [1, ...], reduce_scatter returns
// a copy of its input, barrier returns at once, the bytes methods return their input.
//
// What it is for: bootstrapping a 1-rank NCCL communicator (nccl_process_group needs a group
// to carry the NCCL id), and code that takes a ProcessGroup when the job is a single process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fulgur/distributed/process_group.h"

namespace fulgur::distributed {

class SelfProcessGroup final : public ProcessGroup {
 public:
  explicit SelfProcessGroup(ProcessGroupOptions options = {}) : ProcessGroup(options) {}

  std::string backend() const override { return "self"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }

  void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) override;
  std::unique_ptr<Work> all_reduce_async(Tensor tensor, ReduceOp op = ReduceOp::Sum) override;
  void broadcast(Tensor& tensor, int root = 0) override;
  Tensor all_gather(const Tensor& tensor) override;
  Tensor reduce_scatter(const Tensor& input, ReduceOp op = ReduceOp::Sum) override;
  void barrier() override {}

  std::vector<std::string> all_gather_bytes(const std::string& bytes) override { return {bytes}; }
  std::string broadcast_bytes(const std::string& bytes, int root = 0) override;

  // Prints `why` to stderr and ends this process with exit_code (there is no other process).
  [[noreturn]] void abort(int exit_code, const std::string& why) override;
};

}  // namespace fulgur::distributed
