// NcclProcessGroup's Tensor methods (ProcessGroup's interface) over its device-buffer
// collectives (nccl_process_group.cc): agreement, layout and waiting; NCCL does the rest.
#include <memory>
#include <string>
#include <utility>

#include "fulgur/distributed/nccl_process_group.h"
#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/shape.h"

#if FULGUR_WITH_NCCL
#include <cuda_runtime.h>
#endif

namespace fulgur::distributed {
namespace {

// What every rank's call must share. The device only as "this rank's GPU" or not (each rank
// has its own), so that a tensor on a wrong device fails on every rank, not on one while the
// others wait in NCCL.
std::string signature(const char* op, const Tensor& t, int device, const std::string& more = "") {
  if (!t.defined()) return detail::str_cat(op, " of an undefined tensor", more);
  const std::string where = t.device() == Device::cuda(device) ? std::string("this rank's GPU")
                                                                : detail::str_cat(t.device().str(), " (not this rank's GPU)");
  return detail::str_cat(op, " of ", dtype_name(t.dtype()), " ", shape_str(t.sizes()), " on ", where, more);
}

std::string with_op(ReduceOp op) { return detail::str_cat(" (", to_string(op), ")"); }

// Waits for the device's current stream when destroyed unfinished, as ProcessGroup's Work must.
class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<NcclProcessGroup> group, Tensor tensor, cuda::Stream stream)
      : group_(std::move(group)), tensor_(std::move(tensor)), stream_(std::move(stream)) {}
  // Queries on the group's device: the default stream's handle means the current device's.
  ~NcclWork() override {
    try {
      wait();
    } catch (const std::exception&) {  // the group is marked broken; the next call says why
    }
  }
  bool test() override {
#if FULGUR_WITH_NCCL
    if (!done_) {
      cuda::DeviceGuard guard(group_->device());
      if (cudaStreamQuery(static_cast<cudaStream_t>(stream_.handle())) == cudaSuccess) done_ = true;
    }
#endif
    return done_;
  }
  void wait() override {
    if (done_) return;
    done_ = true;  // once: a failed wait has thrown and broken the group
    group_->wait(stream_.handle());
  }

 private:
  std::shared_ptr<NcclProcessGroup> group_;
  Tensor tensor_;  // alive until the collective is done
  cuda::Stream stream_;
  bool done_ = false;
};

}  // namespace

void require_nccl_tensor(const char* op, const Tensor& tensor, int device) {
  if (tensor.defined() && tensor.device() == Device::cuda(device)) return;
  const std::string got = tensor.defined() ? detail::str_cat("a ", tensor.device().str(), " tensor of shape ",
                                                             shape_str(tensor.sizes()), " ", dtype_name(tensor.dtype()))
                                           : std::string("an undefined tensor");
  FULGUR_FAIL(op, "the NCCL backend needs CUDA tensors on this rank's device cuda:", device, ", got ", got,
              "; hint: move it with .to(Device::cuda(", device, ")); the MPI backend (mpi_process_group) serves CPU "
              "tensors");
}

void NcclProcessGroup::agree(const char* op, const std::string& mine) {
  const std::vector<std::string> all = bootstrap_->all_gather_bytes(mine);
  for (size_t r = 1; r < all.size(); ++r) {
    FULGUR_CHECK(all[r] == all[0], op, "the ranks' calls do not agree: rank 0: ", all[0], "; rank ", r, ": ", all[r],
                 "; hint: every rank must call the same collectives in the same order, with tensors of the same dtype "
                 "and shape (and the same op and root)");
  }
}

void NcclProcessGroup::all_reduce(Tensor& tensor, ReduceOp op) {
  const char* name = "NcclProcessGroup::all_reduce";
  check_usable(name);
  agree(name, signature("all_reduce", tensor, device_, with_op(op)));
  require_nccl_tensor(name, tensor, device_);
  const cuda::Stream stream = cuda::current_stream(device_);
  Tensor buf = tensor.contiguous();
  all_reduce(buf.data_ptr(), buf.numel(), buf.dtype(), op, stream.handle());
  if (!buf.is_same(tensor)) tensor.copy_(buf);
  wait(stream.handle());
}

std::unique_ptr<Work> NcclProcessGroup::all_reduce_async(Tensor tensor, ReduceOp op) {
  const char* name = "NcclProcessGroup::all_reduce_async";
  check_usable(name);
  require_nccl_tensor(name, tensor, device_);
  FULGUR_CHECK(tensor.is_contiguous(), name, "needs a contiguous tensor, got ", tensor.dtype(), " ",
               shape_str(tensor.sizes()), " with strides ", shape_str(tensor.strides()),
               "; hint: pass tensor.contiguous() and copy the result back, or use all_reduce");
  cuda::Stream stream = cuda::current_stream(device_);
  all_reduce(tensor.data_ptr(), tensor.numel(), tensor.dtype(), op, stream.handle());
  return std::make_unique<NcclWork>(shared_from_this(), std::move(tensor), std::move(stream));
}

void NcclProcessGroup::broadcast(Tensor& tensor, int root) {
  const char* name = "NcclProcessGroup::broadcast";
  check_usable(name);
  agree(name, signature("broadcast", tensor, device_, detail::str_cat(" from rank ", root)));
  require_nccl_tensor(name, tensor, device_);
  const cuda::Stream stream = cuda::current_stream(device_);
  Tensor buf = tensor.contiguous();
  broadcast(buf.data_ptr(), buf.numel(), buf.dtype(), root, stream.handle());
  if (!buf.is_same(tensor)) tensor.copy_(buf);
  wait(stream.handle());
}

Tensor NcclProcessGroup::all_gather(const Tensor& tensor) {
  const char* name = "NcclProcessGroup::all_gather";
  check_usable(name);
  agree(name, signature("all_gather", tensor, device_));
  require_nccl_tensor(name, tensor, device_);
  const cuda::Stream stream = cuda::current_stream(device_);
  Shape shape = {size_};
  for (int64_t s : tensor.sizes()) shape.push_back(s);
  Tensor out = empty(shape, {.dtype = tensor.dtype(), .device = Device::cuda(device_)});
  const Tensor in = tensor.contiguous();
  all_gather(in.data_ptr(), out.data_ptr(), in.numel(), in.dtype(), stream.handle());
  wait(stream.handle());
  return out;
}

Tensor NcclProcessGroup::reduce_scatter(const Tensor& input, ReduceOp op) {
  const char* name = "NcclProcessGroup::reduce_scatter";
  check_usable(name);
  agree(name, signature("reduce_scatter", input, device_, with_op(op)));
  require_nccl_tensor(name, input, device_);
  FULGUR_CHECK(input.dim() >= 1 && input.size(0) % size_ == 0, name, "the input's first dimension must be a multiple "
               "of the world size ", size_, ", got shape ", shape_str(input.sizes()),
               "; hint: pad the first dimension to a multiple of the world size");
  const cuda::Stream stream = cuda::current_stream(device_);
  Shape shape = input.sizes().vec();
  shape[0] /= size_;
  Tensor out = empty(shape, {.dtype = input.dtype(), .device = Device::cuda(device_)});
  const Tensor in = input.contiguous();
  reduce_scatter(in.data_ptr(), out.data_ptr(), out.numel(), in.dtype(), op, stream.handle());
  wait(stream.handle());
  return out;
}

}  // namespace fulgur::distributed
