#include "fulgur/distributed/host_staged_process_group.h"

#include <cstdlib>
#include <utility>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/shape.h"

namespace fulgur::distributed {
namespace {

bool on_host(const Tensor& t) { return !t.defined() || t.device().is_cpu(); }

// Runs an in-place collective on a host copy of the device tensor and writes the result back.
template <typename Collective>
void through_host(Tensor& tensor, Collective&& collective) {
  Tensor host = tensor.to(kCPU);
  collective(host);
  GradModeGuard raw(false);
  tensor.copy_(host);
}

// Copies the reduced host buffer back into the device tensor once the inner work is done.
class StagedWork final : public Work {
 public:
  StagedWork(std::unique_ptr<Work> inner, Tensor host, Tensor device)
      : inner_(std::move(inner)), host_(std::move(host)), device_(std::move(device)) {}
  ~StagedWork() override {
    try {
      wait();
    } catch (const std::exception&) {  // the inner group is broken; its next call says why
    }
  }
  // Done only once the result is back in the device tensor.
  bool test() override {
    if (!done_ && inner_->test()) wait();
    return done_;
  }
  void wait() override {
    if (done_) return;
    done_ = true;
    inner_->wait();
    GradModeGuard raw(false);
    device_.copy_(host_);
  }

 private:
  std::unique_ptr<Work> inner_;
  Tensor host_, device_;
  bool done_ = false;
};

}  // namespace

HostStagedProcessGroup::HostStagedProcessGroup(std::shared_ptr<ProcessGroup> inner)
    : ProcessGroup(inner ? inner->options() : ProcessGroupOptions{}), inner_(std::move(inner)) {
  FULGUR_CHECK(inner_ != nullptr, "HostStagedProcessGroup", "the inner group is null");
}

void HostStagedProcessGroup::all_reduce(Tensor& tensor, ReduceOp op) {
  if (on_host(tensor)) return inner_->all_reduce(tensor, op);
  through_host(tensor, [&](Tensor& host) { inner_->all_reduce(host, op); });
}

std::unique_ptr<Work> HostStagedProcessGroup::all_reduce_async(Tensor tensor, ReduceOp op) {
  if (on_host(tensor)) return inner_->all_reduce_async(std::move(tensor), op);
  FULGUR_CHECK(tensor.is_contiguous(), "all_reduce_async", "needs a contiguous tensor, got ", tensor.dtype(),
               " with strides ", shape_str(tensor.strides()), "; hint: pass tensor.contiguous()");
  Tensor host = tensor.to(kCPU);
  auto inner = inner_->all_reduce_async(host, op);
  return std::make_unique<StagedWork>(std::move(inner), std::move(host), std::move(tensor));
}

void HostStagedProcessGroup::broadcast(Tensor& tensor, int root) {
  if (on_host(tensor)) return inner_->broadcast(tensor, root);
  through_host(tensor, [&](Tensor& host) { inner_->broadcast(host, root); });
}

Tensor HostStagedProcessGroup::all_gather(const Tensor& tensor) {
  if (on_host(tensor)) return inner_->all_gather(tensor);
  return inner_->all_gather(tensor.to(kCPU)).to(tensor.device());
}

Tensor HostStagedProcessGroup::reduce_scatter(const Tensor& input, ReduceOp op) {
  if (on_host(input)) return inner_->reduce_scatter(input, op);
  return inner_->reduce_scatter(input.to(kCPU), op).to(input.device());
}

void HostStagedProcessGroup::abort(int exit_code, const std::string& why) {
  inner_->abort(exit_code, why);
  std::_Exit(exit_code);  // not reached: every backend's abort ends the process
}

}  // namespace fulgur::distributed
