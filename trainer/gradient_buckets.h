// GradientBuckets: DDP's gradient all-reduce (torch.nn.parallel.DistributedDataParallel's
// Reducer), overlapped with backward.
//
// Parameters are grouped into buckets of about bucket_cap_mb, in REVERSE registration order
// (backward produces the last layers' gradients first) and by dtype. A post-accumulate-grad
// hook on each parameter copies its gradient into its bucket's flat buffer; when every
// parameter of a bucket has reported, the bucket's all-reduce starts (non-blocking), so
// communication runs while backward computes the earlier layers. Buckets start in index
// order on every rank (a ready bucket waits for the ones before it), because collectives
// must be issued in the same order everywhere. finish() launches what is left, waits, and
// writes the averages back into the gradients.
//
// With sync disabled (gradient accumulation micro-batches before the last one) the hooks do
// nothing and gradients stay local, as DDP's no_sync().
//
// Parameters that got no gradient in a backward: with find_unused_parameters they count as
// zero (their bucket still reduces, and a rank that used one contributes its gradient); without
// it, finish() raises PyTorch's "Expected to have finished reduction" error on every rank.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/distributed/process_group.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::lightning {

class GradientBuckets {
 public:
  // params: (name, tensor) in registration order; only those that require grad take part.
  GradientBuckets(std::vector<std::pair<std::string, Tensor>> params, std::shared_ptr<distributed::ProcessGroup> group,
                  double bucket_cap_mb, bool find_unused_parameters);
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Whether the next backward reduces (false on accumulation micro-batches).
  void set_sync(bool enabled) { sync_ = enabled; }
  bool sync() const { return sync_; }
  // After backward: launches the remaining buckets in order, waits for all, and replaces every
  // gradient by its average over the ranks. No-op when sync is off or nothing was reported.
  void finish();

  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Parameter names per bucket (for tests and messages).
  std::vector<std::vector<std::string>> bucket_layout() const;

 private:
  struct Slot {
    std::string name;
    Tensor param;
    int64_t offset = 0;  // in elements, in the bucket's buffer
    int64_t numel = 0;
    bool ready = false;
    size_t hook = 0;
  };
  struct Bucket {
    std::vector<Slot> slots;
    Tensor buffer;  // flat, contiguous, the slots' dtype
    int64_t pending = 0;  // slots not yet ready
    std::unique_ptr<distributed::Work> work;  // set while its all-reduce is in flight
  };
  void on_grad_ready(size_t bucket, size_t slot);
  void launch_ready_buckets();
  void reset_iteration();

  std::shared_ptr<distributed::ProcessGroup> group_;
  bool find_unused_;
  bool sync_ = true;
  bool active_ = false;  // a hook fired since the last finish()
  size_t next_to_launch_ = 0;
  std::vector<Bucket> buckets_;
};

}  // namespace fulgur::lightning
