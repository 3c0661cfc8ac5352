// L::DDPStrategy: data-parallel training over processes (lightning.pytorch.strategies.DDPStrategy),
// one process per device, launched by MPI (mpirun / srun) rather than spawned by the Trainer.
//
//   mpirun -np 2 bazel-bin/examples/mnist --trainer.strategy=ddp
//   L::Trainer trainer({.strategy = "ddp"});                        // the group from MPI_COMM_WORLD
//   L::Trainer trainer({.strategy = std::make_shared<L::DDPStrategy>(
//       L::DDPStrategyOptions{.process_group = distributed::mpi_process_group(host_comm)})});
//
// What it does, in Lightning's places (docs/DISTRIBUTED.md has the whole list):
//  - setup: creates (or takes) the process group, checks that every rank built the same
//    parameters, broadcasts parameters and buffers from rank 0, installs GradientBuckets.
//  - backward: gradients averaged over the ranks by bucketed all-reduces overlapping backward;
//    none on accumulation micro-batches but the last; clipping happens after (the Trainer
//    clips in optimizer_step, after backward returned).
//  - before each training_step: buffers broadcast from rank 0 (broadcast_buffers, as DDP).
//  - collectives for logging (sync_dist), metrics, checkpoints, early stopping; barrier.
//  - an exception on one rank ends the job (abort_on_exception), since the other ranks may
//    be blocked in a collective; a collective that times out does the same.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/distributed/launch_environment.h"
#include "fulgur/distributed/process_group.h"
#include "fulgur/trainer/gradient_buckets.h"
#include "fulgur/trainer/strategy.h"

namespace fulgur::lightning {

struct DDPStrategyOptions {
  // Lightning/PyTorch names and defaults where they exist.
  bool find_unused_parameters = false;
  double bucket_cap_mb = 25;
  bool broadcast_buffers = true;
  // "" (Lightning's None): "nccl" when the devices are GPUs and NCCL can run (a real GPU, a
  // build with NCCL), else "mpi". "mpi": CPU tensors, and CUDA tensors staged through host
  // memory (distributed/host_staged_process_group.h). "nccl": CUDA tensors between GPUs, the
  // NCCL id carried by MPI.
  std::string process_group_backend = "";
  // For the Trainer's collectives (Lightning: 30 minutes; ours fails sooner).
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // A group built by the caller (e.g. over its own MPI communicator); null: created at setup
  // from MPI_COMM_WORLD (initialising MPI when nobody has).
  std::shared_ptr<distributed::ProcessGroup> process_group = nullptr;
  // On an exception in a multi-process run, end every process (MPI_Abort) after the
  // exception hooks ran, instead of leaving the other ranks waiting in a collective.
  bool abort_on_exception = true;
  // One device per local process (Lightning's parallel_devices): this process runs on
  // parallel_devices[local_rank]. Empty: cuda:local_rank under the CUDA accelerator, else the CPU.
  std::vector<Device> parallel_devices = {};
};

class DDPStrategy : public Strategy {
 public:
  explicit DDPStrategy(DDPStrategyOptions options = {}, std::shared_ptr<Accelerator> accelerator = nullptr);
  ~DDPStrategy() override;
  std::string name() const override { return "ddp"; }
  const DDPStrategyOptions& options() const { return options_; }

  Device root_device() const override;
  // Known once the group exists (setup, or a group given in the options); before that, from
  // the launcher's environment (OMPI_COMM_WORLD_*, SLURM_*).
  int64_t world_size() const override;
  int64_t global_rank() const override;
  int64_t local_rank() const override;
  int64_t node_rank() const override;
  // Creates the process group now if needed (the Trainer calls it at construction, so that
  // ranks are known to the loggers and callbacks from the start). On CUDA devices a CPU-only
  // group (MPI) is wrapped to stage tensors through host memory.
  void connect();
  // The backend the group uses or will use: process_group_backend, or the automatic choice.
  std::string process_group_backend() const;
  const std::shared_ptr<distributed::ProcessGroup>& process_group() const { return group_; }

  void setup(LightningModule& module) override;
  void teardown() override;
  void model_to_device(LightningModule& module) override;
  void before_training_step(LightningModule& module) override;
  void set_gradient_sync(bool enabled) override;
  void post_backward(const Tensor& closure_loss, LightningModule& module) override;

  Tensor reduce(const Tensor& tensor, const std::string& reduce_op = "mean") override;
  Tensor all_gather(const Tensor& tensor, bool sync_grads = false) override;
  Value broadcast(const Value& obj, int64_t src = 0) override;
  void barrier(const std::string& name = "") override;
  bool reduce_boolean_decision(bool decision, bool all = true) override;
  std::vector<std::string> all_gather_strings(const std::string& s) override;
  std::shared_ptr<const metrics::Reducer> metrics_reducer() override;
  [[noreturn]] void abort(int exit_code, const std::string& why) override;
  bool abort_on_exception() const override { return options_.abort_on_exception && world_size() > 1; }

  // The gradient buckets (null before setup), for tests.
  const GradientBuckets* gradient_buckets() const { return buckets_.get(); }

 private:
  void check_same_model(LightningModule& module);
  // `tensor` on the device the collectives run on (root_device()), detached.
  Tensor for_collective(const Tensor& tensor) const;

  DDPStrategyOptions options_;
  std::shared_ptr<distributed::ProcessGroup> group_;
  bool connected_ = false;
  std::unique_ptr<GradientBuckets> buckets_;
  std::shared_ptr<const metrics::Reducer> metrics_reducer_;
  // Where this process sits, from the launcher (until the group exists, also the ranks).
  distributed::LaunchEnvironment env_;
};

}  // namespace fulgur::lightning
