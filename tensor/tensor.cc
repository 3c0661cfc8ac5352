// Tensor metadata, construction and element access.
#include "fulgur/tensor/tensor.h"

#include "fulgur/tensor/internal/launch.h"

namespace fulgur {

TensorImpl& Tensor::impl() const {
  FULGUR_CHECK(impl_ != nullptr, "Tensor", "the tensor is undefined (default-constructed); "
               "hint: assign it from a factory such as zeros() first");
  return *impl_;
}

int64_t Tensor::size(int64_t d) const { return impl().sizes[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return impl().strides[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    const int64_t size = impl().sizes[d];
    if (size == 0) return true;
    if (size != 1 && impl().strides[d] != expected) return false;
    expected *= size;
  }
  return true;
}

void* Tensor::data_ptr() const {
  char* base = static_cast<char*>(impl().storage->data());
  return base + impl().storage_offset * static_cast<int64_t>(element_size());
}

Scalar Tensor::item() const {
  FULGUR_CHECK(numel() == 1, "item", "a Tensor with ", numel(),
               " elements cannot be converted to a scalar (shape ", shape_str(sizes()), ")");
  const Tensor host = to(kCPU);
  return visit_dtype(dtype(), [&](auto tag) -> Scalar {
    using T = typename decltype(tag)::type;
    return Scalar(*static_cast<const T*>(host.data_ptr()));
  });
}

Tensor make_tensor(IntArrayRef sizes, DType dtype, Device device) {
  for (int64_t s : sizes) {
    FULGUR_CHECK(s >= 0, "empty", "negative dimension ", s, " in shape ", shape_str(sizes));
  }
  const int64_t n = numel_of(sizes);
  const size_t esize = element_size(dtype);
  FULGUR_CHECK(n <= (int64_t{1} << 56) / static_cast<int64_t>(esize), "empty", "shape ",
               shape_str(sizes), " is too large to allocate");
  auto storage = std::make_shared<StorageImpl>(static_cast<size_t>(n) * esize, device);
  return make_view(storage, sizes, contiguous_strides(sizes), 0, dtype);
}

Tensor make_view(const Storage& storage, IntArrayRef sizes, IntArrayRef strides,
                 int64_t storage_offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->sizes = sizes.vec();
  impl->strides = strides.vec();
  impl->storage_offset = storage_offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

}  // namespace fulgur
