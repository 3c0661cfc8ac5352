#include "fulgur/trainer/gradient_buckets.h"

#include <map>
#include <tuple>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::lightning {

GradientBuckets::GradientBuckets(std::vector<std::pair<std::string, Tensor>> params,
                                 std::shared_ptr<distributed::ProcessGroup> group, double bucket_cap_mb,
                                 bool find_unused_parameters)
    : group_(std::move(group)), find_unused_(find_unused_parameters) {
  FULGUR_CHECK(bucket_cap_mb > 0, "DDPStrategy", "bucket_cap_mb=", bucket_cap_mb, " must be positive");
  const double cap_bytes = bucket_cap_mb * 1024.0 * 1024.0;
  // One open bucket per dtype and device, filled in reverse registration order (torch's
  // compute_bucket_assignment_by_size, without its smaller first bucket). A bucket lives on its
  // parameters' device, where NCCL reduces it.
  using Key = std::tuple<DType, DeviceType, int>;
  std::map<Key, size_t> open;
  std::map<Key, double> open_bytes;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const Tensor& p = it->second;
    if (!p.requires_grad()) continue;
    const Key dt{p.dtype(), p.device().type, p.device().index};
    const double bytes = static_cast<double>(p.numel()) * static_cast<double>(p.element_size());
    auto found = open.find(dt);
    if (found == open.end() || open_bytes[dt] + bytes > cap_bytes) {
      // A parameter larger than the cap gets a bucket of its own.
      buckets_.emplace_back();
      open[dt] = buckets_.size() - 1;
      open_bytes[dt] = 0;
    }
    Bucket& b = buckets_[open[dt]];
    Slot s;
    s.name = it->first;
    s.param = p;
    s.numel = p.numel();
    s.offset = b.slots.empty() ? 0 : b.slots.back().offset + b.slots.back().numel;
    b.slots.push_back(std::move(s));
    open_bytes[dt] += bytes;
  }
  for (size_t bi = 0; bi < buckets_.size(); ++bi) {
    Bucket& b = buckets_[bi];
    const Slot& last = b.slots.back();
    b.buffer = zeros({last.offset + last.numel}, {.dtype = last.param.dtype(), .device = last.param.device()});
    b.pending = static_cast<int64_t>(b.slots.size());
    for (size_t si = 0; si < b.slots.size(); ++si) {
      b.slots[si].hook =
          b.slots[si].param.register_post_accumulate_grad_hook([this, bi, si](const Tensor&) { on_grad_ready(bi, si); });
    }
  }
}

GradientBuckets::~GradientBuckets() {
  for (Bucket& b : buckets_) {
    for (Slot& s : b.slots) s.param.remove_post_accumulate_grad_hook(s.hook);
    // An all-reduce still in flight writes into the buffer: let it finish (a broken group
    // has nothing left to wait for).
    if (b.work && !group_->broken()) {
      try {
        b.work->wait();
      } catch (const Error&) {
      }
    }
  }
}

std::vector<std::vector<std::string>> GradientBuckets::bucket_layout() const {
  std::vector<std::vector<std::string>> out;
  for (const Bucket& b : buckets_) {
    std::vector<std::string> names;
    for (const Slot& s : b.slots) names.push_back(s.name);
    out.push_back(std::move(names));
  }
  return out;
}

void GradientBuckets::on_grad_ready(size_t bucket, size_t slot) {
  if (!sync_) return;
  Bucket& b = buckets_[bucket];
  Slot& s = b.slots[slot];
  active_ = true;
  // A parameter reached twice in one backward (retain_graph, or a second backward before
  // finish) just refreshes its copy; the bucket was counted once.
  const Tensor& grad = s.param.grad();
  b.buffer.narrow(0, s.offset, s.numel).copy_(grad.reshape({-1}));
  if (s.ready) return;
  s.ready = true;
  FULGUR_CHECK(b.work == nullptr, "DDP backward", "the gradient of '", s.name, "' arrived after its bucket's all-reduce "
               "started (a second backward before the optimizer step?); hint: call backward once per step, or use "
               "gradient accumulation, which skips the reduction on all micro-batches but the last");
  if (--b.pending == 0) launch_ready_buckets();
}

void GradientBuckets::launch_ready_buckets() {
  while (next_to_launch_ < buckets_.size() && buckets_[next_to_launch_].pending == 0) {
    Bucket& b = buckets_[next_to_launch_++];
    b.work = group_->all_reduce_async(b.buffer, distributed::ReduceOp::Sum);
  }
}

void GradientBuckets::finish() {
  // Nothing reported this backward (sync off, or no parameter reached): gradients stay local.
  if (!sync_ || !active_) return;
  // Buckets with parameters that took no part: their slots count as zero (or, without
  // find_unused_parameters, PyTorch's error). Every bucket is launched before anything else
  // is reduced, so that all ranks queue their collectives in the same order whatever each
  // rank used.
  std::vector<int32_t> used_here;
  for (Bucket& b : buckets_) {
    for (const Slot& s : b.slots) used_here.push_back(s.ready ? 1 : 0);
    if (b.pending == 0) continue;
    std::string missing;
    for (Slot& s : b.slots) {
      if (s.ready) continue;
      missing += (missing.empty() ? "" : ", ") + s.name;
      b.buffer.narrow(0, s.offset, s.numel).zero_();
    }
    if (!find_unused_) {
      reset_iteration();
      FULGUR_FAIL("DDP backward", "Expected to have finished reduction in the prior iteration before starting a new "
                  "one. This error indicates that your module has parameters that were not used in producing loss "
                  "(", missing, "); hint: pass find_unused_parameters=true to DDPStrategy (strategy="
                  "\"ddp_find_unused_parameters_true\"), or make sure every parameter takes part in the loss");
    }
    b.pending = 0;
  }
  launch_ready_buckets();
  // find_unused_parameters: which parameters some rank used (PyTorch's globally-unused
  // bitmap, one small all-reduce, on the buckets' device: NCCL reduces device tensors only):
  // those unused everywhere keep an undefined gradient, so the optimizer skips them exactly as
  // in a single process.
  std::vector<int32_t> used_anywhere;
  if (find_unused_) {
    Tensor flags = from_vector(used_here).to(buckets_.front().buffer.device());
    group_->all_reduce(flags, distributed::ReduceOp::Max);
    used_anywhere = flags.to(kCPU).to_vector<int32_t>();
  }
  const double world = static_cast<double>(group_->size());
  size_t flat = 0;
  for (Bucket& b : buckets_) {
    b.work->wait();
    b.work.reset();
    if (world != 1) b.buffer.div_(world);
    for (Slot& s : b.slots) {
      const bool used = !find_unused_ || used_anywhere[flat++] != 0;
      if (!used) continue;
      Tensor averaged = b.buffer.narrow(0, s.offset, s.numel).view(s.param.sizes());
      if (s.param.grad().defined()) {
        s.param.mutable_grad().copy_(averaged);
      } else {
        s.param.mutable_grad() = averaged.clone();  // unused here, used on another rank
      }
    }
  }
  reset_iteration();
}

void GradientBuckets::reset_iteration() {
  for (Bucket& b : buckets_) {
    b.pending = static_cast<int64_t>(b.slots.size());
    for (Slot& s : b.slots) s.ready = false;
  }
  next_to_launch_ = 0;
  active_ = false;
}

}  // namespace fulgur::lightning
