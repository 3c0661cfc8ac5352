// Joining, indexing and sorting. gather and scatter are the kernels; index_select,
// index_add, one_hot and masked_select are built on them with broadcast (stride-0) index
// views, so no index tensor is ever materialised at full size.
#include <numeric>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur {
namespace {

void check_index_tensor(const Tensor& index, const char* op) {
  FULGUR_CHECK(index.dtype() == DType::Int64, op, "expected an int64 index tensor, got ",
               index.dtype(), "; hint: convert with .to(kInt64)");
}

kernels::IndexArgs index_args(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& other) {
  kernels::IndexArgs a;
  a.dtype = self.dtype();
  a.ndim = static_cast<int>(index.dim());
  a.dim = static_cast<int>(dim);
  FULGUR_CHECK(a.ndim <= kernels::kMaxDims, "index", "too many dimensions: ", a.ndim);
  const int64_t es = static_cast<int64_t>(self.element_size());
  for (int d = 0; d < a.ndim; ++d) {
    a.sizes[d] = index.sizes()[d];
    a.self_strides[d] = self.strides()[d] * es;
    a.index_strides[d] = index.strides()[d] * 8;
    a.other_strides[d] = other.strides()[d] * es;
  }
  a.self = static_cast<char*>(self.data_ptr());
  a.self_dim_size = self.dim() ? self.sizes()[dim] : 1;
  a.index = static_cast<const char*>(index.data_ptr());
  a.other = static_cast<char*>(other.data_ptr());
  return a;
}

// Shape rules shared by gather and scatter: same rank, index no larger than `other` in
// every dim and no larger than self outside `dim`.
void check_index_shapes(const Tensor& self, int64_t dim, const Tensor& index, const Tensor* src, const char* op) {
  FULGUR_CHECK(index.dim() == self.dim(), op, "index tensor must have the same number of dimensions as "
               "the input tensor: index ", shape_str(index.sizes()), " vs input ", shape_str(self.sizes()));
  for (int64_t d = 0; d < self.dim(); ++d) {
    FULGUR_CHECK(d == dim || index.sizes()[d] <= self.sizes()[d], op, "size of index ", shape_str(index.sizes()),
                 " exceeds the input's ", shape_str(self.sizes()), " at dimension ", d,
                 " (only dimension ", dim, " may differ)");
    if (src) {
      FULGUR_CHECK(index.sizes()[d] <= src->sizes()[d], op, "size of index ", shape_str(index.sizes()),
                   " exceeds the source's ", shape_str(src->sizes()), " at dimension ", d);
    }
  }
}

void scatter_impl(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                  kernels::ScatterMode mode, const char* op) {
  check_index_tensor(index, op);
  internal::check_same_device(op, {&self, &index, &src});
  dim = wrap_dim(dim, self.dim(), op);
  FULGUR_CHECK(src.dtype() == self.dtype(), op, "expected self.dtype to be equal to src.dtype, got ",
               self.dtype(), " and ", src.dtype());
  const Tensor s = src.dim() == 0 && index.dim() > 0 ? src.expand(index.sizes()) : src;
  check_index_shapes(self, dim, index, &s, op);
  auto raw = [&](Tensor& target) {
    internal::check_no_internal_overlap(target, op);
    target.bump_version();
    if (index.numel() == 0) return;
    const Tensor s_safe = internal::may_overlap(target, s) ? s.clone() : s;
    const Tensor idx = index.dim() == 0 ? index.unsqueeze(0) : index;
    const Tensor self1 = target.dim() == 0 ? target.unsqueeze(0) : target;
    const Tensor src1 = s_safe.dim() == 0 ? s_safe.unsqueeze(0) : s_safe;
    internal::table(target, op).scatter(index_args(self1, dim, idx, src1), mode);
  };
  internal::apply_inplace(
      self, {&s}, op,
      [&](const Tensor& old) {
        OpAttrs attrs;
        attrs.dim = dim;
        return record_op1(mode == kernels::ScatterMode::Add ? OpId::ScatterAdd : OpId::Scatter, {old, index, s},
                          attrs, [&] {
                            Tensor out = old.clone();
                            raw(out);
                            return std::vector<Tensor>{out};
                          });
      },
      [&] { raw(self); });
}

// index [L] viewed as a full index over `shape` along dim (stride 0 elsewhere).
Tensor spread_index(const Tensor& index, int64_t dim, IntArrayRef shape) {
  Shape strides(shape.size(), 0);
  strides[dim] = index.stride(0);
  return make_view(index.storage(), shape, strides, index.storage_offset(), DType::Int64);
}

void check_index_vector(const Tensor& index, const char* op) {
  check_index_tensor(index, op);
  FULGUR_CHECK(index.dim() <= 1, op, "index must be a vector (1-D), got shape ", shape_str(index.sizes()));
}

}  // namespace

Tensor Tensor::gather(int64_t dim, const Tensor& index) const {
  check_index_tensor(index, "gather");
  internal::check_same_device("gather", {this, &index});
  dim = wrap_dim(dim, this->dim(), "gather");
  check_index_shapes(*this, dim, index, nullptr, "gather");
  OpAttrs attrs;
  attrs.dim = dim;
  return record_op1(OpId::Gather, {*this, index}, attrs, [&] {
    Tensor out = make_tensor(index.sizes(), dtype(), device());
    if (out.numel() > 0) {
      const Tensor idx = index.dim() == 0 ? index.unsqueeze(0) : index;
      const Tensor self1 = this->dim() == 0 ? unsqueeze(0) : *this;
      const Tensor out1 = out.dim() == 0 ? out.unsqueeze(0) : out;
      internal::table(*this, "gather").gather(index_args(self1, dim, idx, out1));
    }
    return std::vector<Tensor>{out};
  });
}

Tensor Tensor::index_select(int64_t dim, const Tensor& index) const {
  check_index_vector(index, "index_select");
  TracedComposite trace;  // one "index_select" (ONNX Gather), not a gather over a broadcast view
  const Tensor self1 = this->dim() == 0 ? unsqueeze(0) : *this;
  dim = wrap_dim(dim, self1.dim(), "index_select");
  const Tensor idx = index.reshape({-1});
  Shape shape = self1.sizes().vec();
  shape[dim] = idx.size(0);
  Tensor out = self1.gather(dim, spread_index(idx, dim, shape));
  if (this->dim() == 0) out = out.view({});
  if (trace.active()) trace.record("index_select", {*this, index}, {{"axis", dim}}, {out});
  return out;
}

Tensor& Tensor::scatter_(int64_t dim, const Tensor& index, const Tensor& src) {
  scatter_impl(*this, dim, index, src, kernels::ScatterMode::Assign, "scatter_");
  return *this;
}

Tensor& Tensor::scatter_(int64_t dim, const Tensor& index, const Scalar& value) {
  Tensor v = make_tensor({}, dtype(), device());
  v.fill_(value);
  scatter_impl(*this, dim, index, v, kernels::ScatterMode::Assign, "scatter_");
  return *this;
}

Tensor& Tensor::scatter_add_(int64_t dim, const Tensor& index, const Tensor& src) {
  scatter_impl(*this, dim, index, src, kernels::ScatterMode::Add, "scatter_add_");
  return *this;
}

Tensor& Tensor::index_add_(int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  check_index_vector(index, "index_add_");
  dim = wrap_dim(dim, this->dim(), "index_add_");
  const Tensor idx = index.reshape({-1});
  FULGUR_CHECK(source.dim() == this->dim(), "index_add_", "source ", shape_str(source.sizes()),
               " must have as many dims as self ", shape_str(sizes()));
  for (int64_t d = 0; d < this->dim(); ++d) {
    const int64_t want = d == dim ? idx.size(0) : sizes()[d];
    FULGUR_CHECK(source.sizes()[d] == want, "index_add_", "source shape ", shape_str(source.sizes()),
                 " must match self ", shape_str(sizes()), " except at dim ", dim, " where it must be ",
                 idx.size(0), " (the index length)");
  }
  // As PyTorch: source has self's dtype, and alpha * source is computed in it.
  FULGUR_CHECK(source.dtype() == dtype(), "index_add_", "self (", dtype(), ") and source (", source.dtype(),
               ") must have the same dtype; hint: convert source with .to(", dtype(), ")");
  FULGUR_CHECK(!alpha.is_floating() || is_floating(dtype()), "index_add_",
               "for integral tensors, alpha must not be a floating point number, got ", alpha);
  const bool unit = alpha.is_floating() ? alpha.to_double() == 1.0 : alpha.to_int64() == 1;
  const Tensor scaled = unit ? source : source.mul(alpha);  // a number keeps source's dtype
  scatter_impl(*this, dim, spread_index(idx, dim, source.sizes()), scaled,
               kernels::ScatterMode::Add, "index_add_");
  return *this;
}

Tensor Tensor::scatter(int64_t dim, const Tensor& index, const Tensor& src) const {
  Tensor out = clone();
  return out.scatter_(dim, index, src);
}
Tensor Tensor::scatter(int64_t dim, const Tensor& index, const Scalar& value) const {
  Tensor out = clone();
  return out.scatter_(dim, index, value);
}
Tensor Tensor::scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const {
  Tensor out = clone();
  return out.scatter_add_(dim, index, src);
}
Tensor Tensor::index_add(int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) const {
  Tensor out = clone();
  return out.index_add_(dim, index, source, alpha);
}

Tensor Tensor::masked_select(const Tensor& mask) const {
  TracedComposite trace;  // reported whole, so an exporter refuses it instead of baking it in
  FULGUR_CHECK(mask.dtype() == DType::Bool, "masked_select", "mask must be a bool tensor, got ", mask.dtype());
  internal::check_same_device("masked_select", {this, &mask});
  const Shape shape = broadcast_shapes(sizes(), mask.sizes(), "masked_select");
  const Tensor values = expand(shape).reshape({-1});
  const Tensor flat_mask = mask.expand(shape).contiguous().reshape({-1});
  const auto& table = internal::table(*this, "masked_select");
  const bool* m = static_cast<const bool*>(flat_mask.data_ptr());
  const int64_t count = table.nonzero(m, flat_mask.numel(), nullptr);
  Tensor positions = make_tensor({count}, DType::Int64, device());
  table.nonzero(m, flat_mask.numel(), static_cast<int64_t*>(positions.data_ptr()));
  Tensor out = values.index_select(0, positions);
  if (trace.active()) trace.record("masked_select", {*this, mask}, {}, {out});
  return out;
}

std::tuple<Tensor, Tensor> Tensor::topk(int64_t k, int64_t dim, bool largest, bool sorted) const {
  (void)sorted;  // results are always sorted: the kernel's partial sort orders the top k
  TracedComposite trace;  // one "topk" for an exporter (ONNX TopK), not its transposes
  const Tensor x = this->dim() == 0 ? unsqueeze(0) : *this;
  dim = wrap_dim(dim, x.dim(), "topk");
  const int64_t n = x.size(dim);
  FULGUR_CHECK(k >= 0 && k <= n, "topk", "k (", k, ") is out of range for dimension ", dim, " of size ", n);
  const Tensor moved = x.transpose(dim, -1).contiguous();
  Shape out_shape = moved.sizes().vec();
  out_shape.back() = k;
  Tensor values = make_tensor(out_shape, dtype(), device());
  Tensor indices = make_tensor(out_shape, DType::Int64, device());
  kernels::SortArgs a;
  a.dtype = dtype();
  a.n = n;
  a.rows = n == 0 ? 0 : moved.numel() / n;
  a.k = k;
  a.in = static_cast<const char*>(moved.data_ptr());
  a.values = static_cast<char*>(values.data_ptr());
  a.indices = static_cast<int64_t*>(indices.data_ptr());
  a.descending = largest;
  a.stable = true;
  if (values.numel() > 0) internal::table(*this, "topk").sort(a);
  values = values.transpose(dim, -1).contiguous();
  indices = indices.transpose(dim, -1).contiguous();
  if (should_record({this})) values = x.gather(dim, indices);  // differentiable form
  if (this->dim() == 0) {
    values = values.view({});
    indices = indices.view({});
  }
  if (trace.active()) {
    trace.record("topk", {*this}, {{"k", k}, {"dim", dim}, {"largest", int64_t{largest}}}, {values, indices});
  }
  return {values, indices};
}

std::tuple<Tensor, Tensor> Tensor::sort(int64_t dim, bool descending, bool stable) const {
  (void)stable;  // every sort is stable (ties break on position)
  const int64_t n = this->dim() == 0 ? 1 : size(wrap_dim(dim, this->dim(), "sort"));
  auto [values, indices] = topk(n, dim, descending, true);
  return {values, indices};
}

Tensor Tensor::argsort(int64_t dim, bool descending, bool stable) const {
  return std::get<1>(sort(dim, descending, stable));
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  FULGUR_CHECK(!tensors.empty(), "cat", "expected a non-empty list of tensors");
  // Legacy rule kept by PyTorch: 1-D empty tensors are skipped whatever their shape, but
  // their dtype still takes part in type promotion (PyTorch's result_type over all inputs).
  std::vector<const Tensor*> parts;
  DType dtype = DType::Bool;  // the identity of promote_types
  for (const Tensor& t : tensors) {
    FULGUR_CHECK(t.defined(), "cat", "an input tensor is undefined");
    dtype = promote_types(dtype, t.dtype());
    if (!(t.dim() == 1 && t.numel() == 0)) parts.push_back(&t);
  }
  if (parts.empty()) return tensors[0].to(dtype, /*copy=*/true);
  const Tensor& ref = *parts[0];
  FULGUR_CHECK(ref.dim() > 0, "cat", "zero-dimensional tensor (at position 0) cannot be concatenated");
  dim = wrap_dim(dim, ref.dim(), "cat");
  Shape shape = ref.sizes().vec();
  shape[dim] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& t = *parts[i];
    FULGUR_CHECK(t.dim() == ref.dim(), "cat", "tensors must have the same number of dimensions: got ",
                 ref.dim(), " and ", t.dim(), " (tensor ", i, ")");
    FULGUR_CHECK(t.device() == ref.device(), "cat", "expected all tensors on the same device, but found ",
                 ref.device(), " and ", t.device());
    for (int64_t d = 0; d < t.dim(); ++d) {
      FULGUR_CHECK(d == dim || t.sizes()[d] == ref.sizes()[d], "cat", "sizes of tensors must match except in "
                   "dimension ", dim, ": expected size ", ref.sizes()[d], " but got size ", t.sizes()[d],
                   " for tensor number ", i, " in the list (shapes ", shape_str(ref.sizes()), " and ",
                   shape_str(t.sizes()), ")");
    }
    shape[dim] += t.sizes()[dim];
  }
  OpAttrs attrs;
  attrs.dim = dim;
  for (const Tensor& t : tensors) attrs.sizes.push_back(t.dim() == 1 && t.numel() == 0 ? -1 : t.sizes()[dim]);
  return record_op(OpId::Cat, tensors, attrs, [&] {
    Tensor out = make_tensor(shape, dtype, ref.device());
    int64_t offset = 0;
    for (const Tensor* t : parts) {
      out.narrow(dim, offset, t->sizes()[dim]).copy_(*t);
      offset += t->sizes()[dim];
    }
    return std::vector<Tensor>{out};
  })[0];
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  FULGUR_CHECK(!tensors.empty(), "stack", "expected a non-empty list of tensors");
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    FULGUR_CHECK(tensors[i].sizes() == tensors[0].sizes(), "stack", "stack expects each tensor to be equal "
                 "size, but got ", shape_str(tensors[0].sizes()), " at entry 0 and ",
                 shape_str(tensors[i].sizes()), " at entry ", i);
    parts.push_back(tensors[i].unsqueeze(dim));
  }
  return cat(parts, dim);
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  check_index_tensor(indices, "one_hot");
  if (num_classes == -1) {
    FULGUR_CHECK(indices.numel() > 0, "one_hot", "can not infer total number of classes from an empty "
                 "tensor; hint: pass num_classes");
    num_classes = indices.max().item<int64_t>() + 1;
  }
  if (indices.numel() > 0) {
    FULGUR_CHECK(indices.min().item<int64_t>() >= 0, "one_hot", "class values must be non-negative");
    FULGUR_CHECK(indices.max().item<int64_t>() < num_classes, "one_hot",
                 "class values must be smaller than num_classes (", num_classes, ")");
  }
  Shape shape = indices.sizes().vec();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, {.dtype = DType::Int64, .device = indices.device()});
  out.scatter_(-1, indices.unsqueeze(-1), 1);
  return out;
}

}  // namespace fulgur
