// NcclProcessGroup: collectives between CUDA devices through NCCL, one rank per device.
//
// Created by nccl_process_group(bootstrap, device): rank 0 makes the NCCL unique id and the
// bootstrap group (MPI in a real job, SelfProcessGroup for one process) carries it to every
// rank, so NCCL itself never needs MPI. Rank and size are the bootstrap group's.
//
// Two levels (nccl_process_group_tensors.cc has the second):
//  * device buffers: all_reduce(void* device_data, count, dtype, op, stream) and friends,
//    stream-ordered like NCCL's own calls: they queue the collective on `stream` and return;
//    wait(stream) blocks until it is done, bounded by options().timeout;
//  * ProcessGroup's Tensor methods, on CUDA tensors of this group's device: the ranks' calls
//    are agreed first through the bootstrap group (op, dtype, shape, reduce op, root), so a
//    mismatch throws on every rank; the collective is queued on the device's current stream
//    (where the tensor's producers and consumers run) and waited for, so a missing peer ends
//    in the timeout rather than in a later copy that never returns. all_reduce_async skips the
//    agreement (DDP's buckets) and returns a Work that waits for that stream. The MPI backend
//    serves CPU tensors. The bytes methods go to the bootstrap group.
//
// Failure: the communicator is non-blocking (ncclConfig_t::blocking = 0), so creation and every
// wait poll ncclCommGetAsyncError (and cudaStreamQuery) instead of blocking inside NCCL. An
// NCCL error, or no completion within options().timeout, aborts the communicator
// (ncclCommAbort), marks the group broken and throws fulgur::Error; the caller should then end
// the job with abort(), since the other ranks may still wait inside the collective.
//
// Dtypes: float32/64, bfloat16, float16, int32/64, uint8, int8, and bool (as uint8: Sum and Max
// are "any", Min is "all", as torch does). int16 has no NCCL type. Avg is ncclAvg (integers:
// the sum divided with truncation).
//
// One thread at a time per group (as NCCL's communicators).
//
// Builds without NCCL (no toolkit, a toolkit without libnccl, --config=cpu_only):
// nccl_is_available() is false and nccl_process_group throws, saying why.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/distributed/process_group.h"
#include "fulgur/kernels/cuda/stream.h"
#include "fulgur/kernels/dtype.h"

namespace fulgur::distributed {

// Whether this build links NCCL. Says nothing about devices (cuda::is_available()).
bool nccl_is_available();
// Why not ("" when it is).
std::string nccl_unavailable_reason();
// Version of the NCCL library loaded at run time ("2.28.9"); "" without NCCL.
std::string nccl_version();

class NcclProcessGroup final : public ProcessGroup, public std::enable_shared_from_this<NcclProcessGroup> {
 public:
  struct PrivateTag {};  // construct through nccl_process_group()
  NcclProcessGroup(PrivateTag, std::shared_ptr<ProcessGroup> bootstrap, int device, ProcessGroupOptions options);
  // Finalizes and destroys the communicator (aborts it if that does not finish within the
  // timeout). Every rank should destroy its group, as every rank made it.
  ~NcclProcessGroup() override;
  NcclProcessGroup(const NcclProcessGroup&) = delete;
  NcclProcessGroup& operator=(const NcclProcessGroup&) = delete;

  std::string backend() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int device() const { return device_; }
  const std::shared_ptr<ProcessGroup>& bootstrap() const { return bootstrap_; }

  // ---- device buffers, queued on `stream` (nullptr: the device's default stream) -------------
  // In place: `count` elements at `device_data` := their reduction over the ranks.
  void all_reduce(void* device_data, int64_t count, DType dtype, ReduceOp op, cuda::StreamHandle stream);
  // In place: `count` elements := root's.
  void broadcast(void* device_data, int64_t count, DType dtype, int root, cuda::StreamHandle stream);
  // output[r * count, (r + 1) * count) := rank r's `count` input elements; output holds
  // size() * count elements.
  void all_gather(const void* device_input, void* device_output, int64_t count, DType dtype, cuda::StreamHandle stream);
  // input holds size() * count elements; rank r's `count` output elements := the reduction of
  // every rank's chunk r.
  void reduce_scatter(const void* device_input, void* device_output, int64_t count, DType dtype, ReduceOp op,
                      cuda::StreamHandle stream);
  // Blocks until everything queued on `stream` so far is done, at most options().timeout
  // (then: abort, broken, fulgur::Error). Reports NCCL's asynchronous errors.
  void wait(cuda::StreamHandle stream);

  // ---- ProcessGroup on tensors: CUDA tensors of device() -----------------------------------
  void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) override;
  std::unique_ptr<Work> all_reduce_async(Tensor tensor, ReduceOp op = ReduceOp::Sum) override;
  void broadcast(Tensor& tensor, int root = 0) override;
  Tensor all_gather(const Tensor& tensor) override;
  Tensor reduce_scatter(const Tensor& input, ReduceOp op = ReduceOp::Sum) override;
  // A 1-element all-reduce on the group's own stream, then wait().
  void barrier() override;

  // ---- bytes: through the bootstrap group -----------------------------------------------------
  std::vector<std::string> all_gather_bytes(const std::string& bytes) override;
  std::string broadcast_bytes(const std::string& bytes, int root = 0) override;

  // ncclCommAbort (so no kernel of ours keeps waiting for a peer), then bootstrap->abort.
  [[noreturn]] void abort(int exit_code, const std::string& why) override;

 private:
  void check_usable(const char* op) const;
  // Waits until the communicator leaves ncclInProgress (a non-blocking NCCL call finishing).
  void settle(int result, const char* op, const std::string& what);
  // Aborts the communicator, marks the group broken and throws `message`.
  [[noreturn]] void fail(const std::string& message);
  std::string where() const;  // "rank 1 of 2 (cuda:1)"
  // Throws on every rank alike unless every rank passed the same `signature` (bootstrap
  // all-gather of the strings).
  void agree(const char* op, const std::string& signature);

  std::shared_ptr<ProcessGroup> bootstrap_;
  int rank_ = 0;
  int size_ = 1;
  int device_ = 0;
  void* comm_ = nullptr;                // ncclComm_t; null once aborted
  void* scratch_ = nullptr;             // 4 bytes of device memory for barrier()
  std::optional<cuda::Stream> stream_;  // the group's own stream (barrier)
};

// The check of NcclProcessGroup's Tensor methods: `tensor` must be a defined CUDA tensor on
// cuda:`device`; otherwise fulgur::Error naming `op` and the tensor, pointing to the MPI backend
// for CPU tensors.
void require_nccl_tensor(const char* op, const Tensor& tensor, int device);

// Every rank of `bootstrap` calls this with its own device (usually its local rank). The
// devices' availability is agreed first, so a rank without a usable device makes every rank
// throw (naming it) instead of leaving the others waiting in NCCL.
std::shared_ptr<NcclProcessGroup> nccl_process_group(std::shared_ptr<ProcessGroup> bootstrap, int device,
                                                     ProcessGroupOptions options = {});

}  // namespace fulgur::distributed
