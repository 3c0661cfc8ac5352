// ProcessGroup: the collectives a data-parallel run needs (torch.distributed's process group),
// on tensors, over a fixed set of processes. Two backends implement it: MPI
// (distributed/mpi_process_group.h; CPU tensors, any dtype) and NCCL
// (distributed/nccl_process_group.h; device buffers, bootstrap over MPI).
//
// Every collective must be called by every rank of the group, in the same order, with tensors
// of the same dtype and shape (all_gather: same shape; reduce_scatter: first dimension a
// multiple of size()). The tensor entry points check that agreement first (one small
// all-gather of the metadata), so a mismatch is a fulgur::Error naming both ranks' shapes on
// every rank instead of a hang or a corrupted buffer. Non-contiguous tensors are packed and
// written back; empty tensors are allowed (no data moves, the ranks still synchronise).
//
// Timeouts: a collective that has not completed after options().timeout throws
// fulgur::Error("... timed out after 30 s on rank 1 of 2 ...") and marks the group broken
// (every later call throws at once). The caller should then end the process
// (ProcessGroup::abort), because the other ranks may still be waiting inside the collective.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur::distributed {

enum class ReduceOp { Sum, Avg, Max, Min };
const char* to_string(ReduceOp op);
// "sum", "avg"/"mean", "max", "min" (Lightning's reduce_op strings); fulgur::Error otherwise.
ReduceOp parse_reduce_op(const std::string& name);

struct ProcessGroupOptions {
  // How long one collective may wait for the other ranks. The Trainer uses 5 minutes
  // (Lightning's default for its collectives is 30 minutes; we prefer failing sooner).
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
};

// A collective in flight (all_reduce_async). wait() blocks until done (or throws on timeout);
// test() makes progress and says whether it is done. Destroying an unfinished Work waits.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual std::string backend() const = 0;  // "mpi", "nccl"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  const ProcessGroupOptions& options() const { return options_; }

  // ---- collectives on tensors (in place where torch.distributed is in place) ---------------
  // Element-wise reduction across ranks, result on every rank. Avg divides the sum by size()
  // (integer tensors: truncating division, as torch). bool tensors: Sum/Max = any, Min = all.
  virtual void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) = 0;
  // Starts an all-reduce of a CONTIGUOUS tensor without the agreement check (the caller
  // guarantees it, e.g. DDP's gradient buckets); the tensor must stay alive until wait().
  virtual std::unique_ptr<Work> all_reduce_async(Tensor tensor, ReduceOp op = ReduceOp::Sum) = 0;
  // tensor := root's tensor on every rank.
  virtual void broadcast(Tensor& tensor, int root = 0) = 0;
  // [size(), *tensor.shape]: every rank's tensor, stacked in rank order
  // (all_gather_into_tensor).
  virtual Tensor all_gather(const Tensor& tensor) = 0;
  // input [size() * k, ...] -> [k, ...]: rank r gets the reduction of every rank's r-th chunk.
  virtual Tensor reduce_scatter(const Tensor& input, ReduceOp op = ReduceOp::Sum) = 0;
  virtual void barrier() = 0;

  // ---- bytes (objects, key lists, shapes) ---------------------------------------------------
  // Every rank's bytes in rank order (lengths may differ).
  virtual std::vector<std::string> all_gather_bytes(const std::string& bytes) = 0;
  // root's bytes on every rank.
  virtual std::string broadcast_bytes(const std::string& bytes, int root = 0) = 0;

  // Ends every process of the group now (MPI_Abort): what to do after a rank failed or a
  // collective timed out, since the others may be blocked where no error can reach them.
  [[noreturn]] virtual void abort(int exit_code, const std::string& why) = 0;

  // True after a timeout: the group can no longer be used.
  bool broken() const { return broken_; }

 protected:
  explicit ProcessGroup(ProcessGroupOptions options) : options_(options) {}
  void mark_broken() { broken_ = true; }

 private:
  ProcessGroupOptions options_;
  bool broken_ = false;
};

}  // namespace fulgur::distributed
