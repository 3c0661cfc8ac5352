// Tensor: a cheap-to-copy handle to a strided view of shared storage (sizes, strides in
// elements, storage offset, dtype; the device is the storage's). Copying a Tensor shares
// the data, like a Python reference; clone() copies it.
//
// Semantics follow PyTorch: NumPy broadcasting, PyTorch's type promotion (tensor/
// type_promotion.h), negative dims count from the end, view ops alias their input (say so
// below), every other op returns a new contiguous tensor. Errors throw fulgur::Error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "fulgur/kernels/device.h"
#include "fulgur/kernels/dtype.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/scalar.h"
#include "fulgur/tensor/shape.h"
#include "fulgur/tensor/storage.h"

namespace fulgur {

struct AutogradMeta;  // tensor/autograd_meta.h: requires_grad, grad, grad_fn, hooks
class Node;           // autograd/node.h: a node of the autograd graph

struct TensorImpl {
  Storage storage;
  Shape sizes;
  Shape strides;  // in elements
  int64_t storage_offset = 0;
  DType dtype = DType::Float32;
  std::shared_ptr<AutogradMeta> autograd;  // null until the tensor takes part in autograd
  // Set on tensors made by view ops (narrow, view, t(), ...): the tensor they view, never
  // itself a view. An in-place op on a view rewrites the base's autograd history too
  // (internal::apply_inplace), as PyTorch's CopySlices does.
  std::shared_ptr<TensorImpl> view_base;
};

// Options of factory functions: `zeros({2, 3}, {.dtype = kInt64, .device = kCPU})`.
// An unset dtype means the op's default (float32, or int64 for integer arange).
struct TensorOptions {
  std::optional<DType> dtype = std::nullopt;
  Device device = kCPU;
};

class Generator;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (defined() == false)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata ------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  int64_t dim() const { return static_cast<int64_t>(impl().sizes.size()); }
  IntArrayRef sizes() const { return impl().sizes; }
  IntArrayRef strides() const { return impl().strides; }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t storage_offset() const { return impl().storage_offset; }
  int64_t numel() const { return numel_of(impl().sizes); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  size_t element_size() const { return fulgur::element_size(dtype()); }
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  const Storage& storage() const { return impl().storage; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // Pointer to element [0, ..., 0]. T must match dtype() (checked).
  void* data_ptr() const;
  template <typename T>
  T* data_ptr() const {
    FULGUR_CHECK(dtype_of_v<T> == dtype(), "data_ptr", "requested ", dtype_of_v<T>,
                 " but the tensor is ", dtype());
    return static_cast<T*>(data_ptr());
  }
  // The single value of a one-element tensor (copied to the host if needed).
  Scalar item() const;
  template <typename T>
  T item() const {
    return item().to<T>();
  }
  // All elements in row-major order, converted to T (copied to the host if needed).
  template <typename T>
  std::vector<T> to_vector() const;

  // ---- views: the result shares storage with *this ------------------------------------
  Tensor view(IntArrayRef sizes) const;  // one size may be -1; throws if not viewable
  Tensor reshape(IntArrayRef sizes) const;  // a view when possible, else a copy
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;  // view when possible
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor permute(IntArrayRef dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // 2-D transpose (0-D and 1-D returned as is)
  Tensor expand(IntArrayRef sizes) const;  // -1 keeps a size; new leading dims allowed
  Tensor expand_as(const Tensor& other) const { return expand(other.sizes()); }
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, std::optional<int64_t> start = std::nullopt,
               std::optional<int64_t> end = std::nullopt, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor as_strided(IntArrayRef sizes, IntArrayRef strides,
                    std::optional<int64_t> storage_offset = std::nullopt) const;
  Tensor view_as(const Tensor& other) const { return view(other.sizes()); }
  std::vector<Tensor> split(int64_t split_size, int64_t dim = 0) const;
  std::vector<Tensor> split_with_sizes(IntArrayRef sizes, int64_t dim = 0) const;
  std::vector<Tensor> chunk(int64_t chunks, int64_t dim = 0) const;
  std::vector<Tensor> unbind(int64_t dim = 0) const;

  // ---- copies and conversion ----------------------------------------------------------
  Tensor contiguous() const;  // *this if already contiguous
  Tensor clone() const;
  // src broadcast to *this; converts dtype and device. non_blocking: a host-to-device copy
  // out of pinned memory is queued on the device's current stream and not waited for
  // (kernels on that stream see it; the host sees it after cuda::synchronize()); any other
  // copy waits, as in PyTorch.
  Tensor& copy_(const Tensor& src, bool non_blocking = false);
  Tensor to(DType dtype, bool copy = false) const;  // *this if already dtype and !copy
  Tensor to(Device device, bool copy = false) const;
  Tensor to(Device device, DType dtype, bool copy = false) const;
  struct ToOptions {
    bool non_blocking = false;  // as copy_'s
    bool copy = false;
  };
  Tensor to(Device device, ToOptions options) const;  // x.to(Device::cuda(), {.non_blocking = true})
  Tensor cpu() const { return to(kCPU); }
  // A copy in page-locked host memory, or *this if already pinned (torch.Tensor.pin_memory):
  // what makes a later to(cuda, {.non_blocking = true}) asynchronous. CPU tensors only; needs
  // a CUDA device (or the emulated one), else fulgur::Error.
  Tensor pin_memory() const;
  bool is_pinned() const;  // in pinned_host_allocator()'s memory

  // ---- in-place fills -----------------------------------------------------------------
  Tensor& fill_(const Scalar& value);
  Tensor& zero_() { return fill_(0); }

  // ---- element-wise (see ops.h for the free-function forms and operators) -------------
  Tensor add(const Tensor& other, const Scalar& alpha = 1) const;
  Tensor add(const Scalar& other) const;
  Tensor sub(const Tensor& other, const Scalar& alpha = 1) const;
  Tensor sub(const Scalar& other) const;
  Tensor mul(const Tensor& other) const;
  Tensor mul(const Scalar& other) const;
  Tensor div(const Tensor& other) const;  // true division: integers give float32
  Tensor div(const Scalar& other) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor pow(const Scalar& exponent) const;
  Tensor minimum(const Tensor& other) const;
  Tensor maximum(const Tensor& other) const;
  Tensor clamp(std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt) const;
  Tensor clamp(const Tensor& min, const Tensor& max) const;
  Tensor neg() const;
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor log1p() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor gelu(bool tanh_approximation = false) const;
  Tensor silu() const;
  Tensor square() const;
  Tensor erf() const;
  Tensor reciprocal() const;
  Tensor eq(const Tensor& other) const;
  Tensor eq(const Scalar& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor ne(const Scalar& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor lt(const Scalar& other) const;
  Tensor le(const Tensor& other) const;
  Tensor le(const Scalar& other) const;
  Tensor gt(const Tensor& other) const;
  Tensor gt(const Scalar& other) const;
  Tensor ge(const Tensor& other) const;
  Tensor ge(const Scalar& other) const;
  Tensor logical_and(const Tensor& other) const;
  Tensor logical_or(const Tensor& other) const;
  Tensor logical_xor(const Tensor& other) const;
  Tensor logical_not() const;
  Tensor masked_fill(const Tensor& mask, const Scalar& value) const;

  // In place: the result is computed in the promoted dtype and must be castable to
  // dtype() (float into an integer tensor throws, as in PyTorch).
  Tensor& add_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& add_(const Scalar& other);
  Tensor& sub_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& sub_(const Scalar& other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(const Scalar& other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(const Scalar& other);
  Tensor& pow_(const Scalar& exponent);
  Tensor& neg_();
  Tensor& abs_();
  Tensor& exp_();
  Tensor& log_();
  Tensor& sqrt_();
  Tensor& tanh_();
  Tensor& sigmoid_();
  Tensor& relu_();
  Tensor& clamp_(std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt);
  Tensor& masked_fill_(const Tensor& mask, const Scalar& value);

  // ---- reductions ---------------------------------------------------------------------
  // An empty dims list reduces over all dimensions (as PyTorch's dim=[]).
  Tensor sum(IntArrayRef dims = {}, bool keepdim = false,
             std::optional<DType> dtype = std::nullopt) const;
  Tensor mean(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor prod(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor var(IntArrayRef dims = {}, double correction = 1, bool keepdim = false) const;
  Tensor std(IntArrayRef dims = {}, double correction = 1, bool keepdim = false) const;
  Tensor norm(double p = 2, IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor logsumexp(IntArrayRef dims, bool keepdim = false) const;
  Tensor max() const;  // over all elements
  Tensor min() const;
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;  // values, indices
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor amax(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor amin(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor argmin(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor all(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor any(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // ---- linear algebra -----------------------------------------------------------------
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;
  Tensor bmm(const Tensor& other) const;

  // ---- indexing -----------------------------------------------------------------------
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor gather(int64_t dim, const Tensor& index) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Scalar& value) const;
  Tensor scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor index_add(int64_t dim, const Tensor& index, const Tensor& source,
                   const Scalar& alpha = 1) const;
  Tensor& scatter_(int64_t dim, const Tensor& index, const Tensor& src);
  Tensor& scatter_(int64_t dim, const Tensor& index, const Scalar& value);
  Tensor& scatter_add_(int64_t dim, const Tensor& index, const Tensor& src);
  Tensor& index_add_(int64_t dim, const Tensor& index, const Tensor& source,
                     const Scalar& alpha = 1);
  Tensor masked_select(const Tensor& mask) const;
  std::tuple<Tensor, Tensor> topk(int64_t k, int64_t dim = -1, bool largest = true,
                                  bool sorted = true) const;
  std::tuple<Tensor, Tensor> sort(int64_t dim = -1, bool descending = false,
                                  bool stable = false) const;
  Tensor argsort(int64_t dim = -1, bool descending = false, bool stable = false) const;

  // ---- autograd (recorded by autograd/; see docs/AUTOGRAD.md) -------------------------
  bool requires_grad() const;
  // Leaves only; only floating-point tensors can require grad.
  Tensor& requires_grad_(bool requires_grad = true);
  // The accumulated gradient of a leaf (undefined until backward reaches it).
  const Tensor& grad() const;
  Tensor& mutable_grad();  // e.g. `w.mutable_grad() = Tensor()` to drop it
  bool is_leaf() const;     // no grad_fn: created by the user, not by a recorded op
  const std::shared_ptr<Node>& grad_fn() const;
  // The same data without history (shares storage).
  Tensor detach() const;
  Tensor& detach_();
  // Accumulates d(this)/d(leaf) * gradient into every leaf's grad(). gradient may be
  // omitted for a one-element tensor. The graph's saved tensors are freed unless retained;
  // create_graph records the backward pass itself (for higher-order gradients).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;
  // Keep grad() for this non-leaf tensor too.
  void retain_grad() const;
  // hook(grad) runs when this tensor's gradient is computed; it may return a replacement.
  size_t register_hook(std::function<Tensor(const Tensor&)> hook) const;
  void remove_hook(size_t handle) const;
  // hook(tensor) runs after backward accumulated into this leaf's grad().
  size_t register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;
  // Removes it (the handle stays valid; removing twice is a no-op).
  void remove_post_accumulate_grad_hook(size_t handle) const;
  uint64_t version() const { return impl().storage->version(); }

  // PyTorch-style repr: tensor([[0.1000, 0.2000]], dtype=torch.float64)
  std::string str() const;

  // Mutations bump the storage's version (autograd checks it).
  void bump_version() const { impl().storage->bump_version(); }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Creates a tensor over a fresh allocation (contents uninitialised).
Tensor make_tensor(IntArrayRef sizes, DType dtype, Device device);
// Creates a tensor over existing storage.
Tensor make_view(const Storage& storage, IntArrayRef sizes, IntArrayRef strides,
                 int64_t storage_offset, DType dtype);

template <typename T>
std::vector<T> Tensor::to_vector() const {
  const Tensor host = to(kCPU).to(dtype_of_v<T>).contiguous();
  const T* p = host.data_ptr<T>();
  return std::vector<T>(p, p + host.numel());
}

}  // namespace fulgur
