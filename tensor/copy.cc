// Copies, dtype/device conversion and fills.
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = make_tensor(sizes(), dtype(), device());
  out.copy_(*this);
  return out;
}

Tensor& Tensor::copy_(const Tensor& src) {
  FULGUR_CHECK(src.defined(), "copy_", "source tensor is undefined");
  Shape shape = broadcast_shapes(sizes(), src.sizes(), "copy_");
  FULGUR_CHECK(IntArrayRef(shape) == sizes(), "copy_", "source of shape ", shape_str(src.sizes()),
               " cannot be broadcast to destination shape ", shape_str(sizes()));
  if (numel() == 0) return *this;
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
    t.copy_bytes(landing.data_ptr(), device(), staged.data_ptr(), staged.device(),
                 static_cast<size_t>(numel()) * element_size());
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

Tensor Tensor::to(DType target, bool copy) const {
  if (target == dtype() && !copy) return *this;
  Tensor out = make_tensor(sizes(), target, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device target, bool copy) const {
  if (target == device() && !copy) return *this;
  Tensor out = make_tensor(sizes(), dtype(), target);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device target, DType target_dtype, bool copy) const {
  if (target == device() && target_dtype == dtype() && !copy) return *this;
  Tensor out = make_tensor(sizes(), target_dtype, target);
  out.copy_(*this);
  return out;
}

Tensor& Tensor::fill_(const Scalar& value) {
  if (numel() == 0) return *this;
  internal::check_no_internal_overlap(*this, "fill_");
  bump_version();
  auto args = internal::elementwise_args(*this, {}, "fill_");
  internal::table(*this, "fill_").fill(args, value);
  return *this;
}

}  // namespace fulgur
