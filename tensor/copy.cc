// Copies, dtype/device conversion and fills.
#include <memory>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/backends.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur {

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

namespace {

// A new tensor of `dtype` on `device` holding x's values (x may be broadcast to `sizes`).
Tensor converted(const Tensor& x, DType dtype, Device device, bool non_blocking = false) {
  Tensor out = make_tensor(x.sizes(), dtype, device);
  GradModeGuard raw(false);
  out.copy_(x, non_blocking);
  return out;
}

// Every `to` that changes the device or the dtype (not both: callers split that): one recorded
// node, undone in backward.
Tensor recorded_conversion(const Tensor& x, Device device, DType dtype, bool non_blocking) {
  OpAttrs attrs;
  attrs.dtype = x.dtype();
  attrs.device = x.device();
  return record_op1(device != x.device() ? OpId::ToDevice : OpId::ToDtype, {x}, attrs,
                    [&] { return std::vector<Tensor>{converted(x, dtype, device, non_blocking)}; });
}

}  // namespace

Tensor Tensor::clone() const {
  return record_op1(OpId::Clone, {*this}, {}, [&] { return std::vector<Tensor>{converted(*this, dtype(), device())}; });
}

Tensor& Tensor::copy_(const Tensor& src, bool non_blocking) {
  FULGUR_CHECK(src.defined(), "copy_", "source tensor is undefined");
  Shape shape = broadcast_shapes(sizes(), src.sizes(), "copy_");
  FULGUR_CHECK(IntArrayRef(shape) == sizes(), "copy_", "source of shape ", shape_str(src.sizes()),
               " cannot be broadcast to destination shape ", shape_str(sizes()));
  if (numel() == 0) return *this;
  if (should_record({this, &src}) || trace_involves({this, &src})) {
    // The destination's old values are overwritten: its new history is src's alone.
    return internal::apply_inplace(*this, {&src}, "copy_",
                                   [&](const Tensor&) { return src.to(device(), dtype()).expand(sizes()); }, [] {});
  }
  internal::check_no_internal_overlap(*this, "copy_");
  bump_version();
  if (src.device() != device()) {
    // Cross-device: stage through a contiguous buffer of the destination dtype.
    Tensor staged = src.to(dtype()).expand(sizes()).contiguous();
    Tensor landing = is_contiguous() ? *this : make_tensor(sizes(), dtype(), device());
    // The accelerator's backend knows how to reach host memory, not the other way round.
    const Device backend = device().is_cpu() ? staged.device() : device();
    const auto& t = kernels::kernels_for_device(backend, "copy_");
    FULGUR_CHECK(t.copy_bytes != nullptr, "copy_", "no copy between ", src.device(), " and ", device());
    const size_t nbytes = static_cast<size_t>(numel()) * element_size();
    if (non_blocking && staged.is_pinned() && !device().is_cpu() && t.copy_bytes_async) {
      // Straight out of the caller's pinned buffer (no staging copy was needed), not waited for.
      t.copy_bytes_async(landing.data_ptr(), device(), staged.data_ptr(), nbytes);
    } else {
      t.copy_bytes(landing.data_ptr(), device(), staged.data_ptr(), staged.device(), nbytes);
    }
    if (!landing.is_same(*this)) copy_(landing);
    return *this;
  }
  Tensor source = src;
  if (internal::may_overlap(*this, src) &&
      !(src.strides() == strides() && src.storage_offset() == storage_offset() && src.dtype() == dtype())) {
    source = src.clone();  // partial overlap: read everything before writing
  }
  auto args = internal::elementwise_args(*this, {source}, "copy_");
  internal::table(*this, "copy_").copy(args);
  return *this;
}

Tensor Tensor::to(DType target, bool copy) const { return to(device(), target, copy); }

Tensor Tensor::to(Device target, bool copy) const { return to(target, dtype(), copy); }

Tensor Tensor::to(Device target, ToOptions options) const {
  if (!options.non_blocking || target == device()) return to(target, dtype(), options.copy);
  return recorded_conversion(*this, target, dtype(), /*non_blocking=*/true);
}

Tensor Tensor::pin_memory() const {
  FULGUR_CHECK(device().is_cpu(), "pin_memory", "cannot pin a ", device(), " tensor; hint: only CPU tensors can be "
               "pinned (pinning is for their copies to a GPU)");
  if (is_pinned()) return *this;
  kernels::ensure_backends_registered();
  Allocator* pinned = pinned_host_allocator();
  FULGUR_CHECK(pinned != nullptr, "pin_memory", "no CUDA device to pin memory for; hint: pinning only speeds up "
               "copies to a GPU, so leave it off on a machine without one (tests: FULGUR_CUDA_EMULATION=1)");
  // Recorded as a clone (gradient passes through), as PyTorch records pin_memory.
  return record_op1(OpId::Clone, {*this}, {}, [&] {
    auto storage = std::make_shared<StorageImpl>(static_cast<size_t>(numel()) * element_size(), kCPU, *pinned);
    Tensor out = make_view(storage, sizes(), contiguous_strides(sizes()), 0, dtype());
    GradModeGuard raw(false);
    out.copy_(*this);
    return std::vector<Tensor>{out};
  });
}

bool Tensor::is_pinned() const {
  if (!defined() || !device().is_cpu()) return false;
  const Allocator* pinned = pinned_host_allocator();
  return pinned != nullptr && storage() && storage()->allocator() == pinned;
}

Tensor Tensor::to(Device target, DType target_dtype, bool copy) const {
  if (target == device() && target_dtype == dtype() && !copy) return *this;
  if (target == device() && target_dtype == dtype()) return clone();
  // Recorded as a device move then a dtype conversion (each undone in backward).
  if (target != device() && target_dtype != dtype()) return to(target).to(target_dtype);
  return recorded_conversion(*this, target, target_dtype, /*non_blocking=*/false);
}

Tensor& Tensor::fill_(const Scalar& value) {
  if (numel() == 0) return *this;
  return internal::apply_inplace(
      *this, {}, "fill_",
      [&](const Tensor& old) {  // a constant: recorded only so that no gradient flows to old values
        return record_op1(OpId::Fill, {old}, {}, [&] {
          Tensor out = make_tensor(sizes(), dtype(), device());
          out.fill_(value);
          return std::vector<Tensor>{out};
        });
      },
      [&] {
        internal::check_no_internal_overlap(*this, "fill_");
        bump_version();
        auto args = internal::elementwise_args(*this, {}, "fill_");
        internal::table(*this, "fill_").fill(args, value);
      });
}

}  // namespace fulgur
