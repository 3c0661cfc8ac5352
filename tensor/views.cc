// View ops: results share storage with their input (no data is copied), except reshape
// and flatten when no view exists.
#include <algorithm>
#include <numeric>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {
namespace {

Shape infer_size(IntArrayRef sizes, int64_t numel, const char* op) {
  Shape out = sizes.vec();
  int64_t known = 1;
  bool overflow = false;  // a product past int64 cannot equal any tensor's numel
  std::optional<size_t> infer;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      FULGUR_CHECK(!infer, op, "only one dimension can be inferred (-1), got shape ", shape_str(sizes));
      infer = i;
    } else {
      FULGUR_CHECK(out[i] >= 0, op, "invalid shape dimension ", out[i], " in ", shape_str(sizes));
      overflow |= __builtin_mul_overflow(known, out[i], &known);
    }
  }
  if (std::find(out.begin(), out.end(), int64_t{0}) != out.end()) {
    known = 0;
    overflow = false;
  }
  FULGUR_CHECK(!overflow, op, "shape ", shape_str(sizes), " is invalid for input of size ", numel,
               " (its product overflows int64)");
  if (infer) {
    FULGUR_CHECK(known != 0 && numel % known == 0, op, "shape ", shape_str(sizes),
                 " is invalid for input of size ", numel);
    out[*infer] = numel / known;
  } else {
    FULGUR_CHECK(known == numel, op, "shape ", shape_str(sizes), " is invalid for input of size ", numel);
  }
  return out;
}

// PyTorch's computeStride: strides that view `old` as `shape`, if any exist.
std::optional<Shape> view_strides(IntArrayRef old_sizes, IntArrayRef old_strides, IntArrayRef shape) {
  Shape strides(shape.size());
  if (old_sizes.empty()) return contiguous_strides(shape);
  if (numel_of(old_sizes) == 0) {
    if (old_sizes == shape) return old_strides.vec();
    return contiguous_strides(shape);
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides[old_strides.size() - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t td = static_cast<int64_t>(old_sizes.size()) - 1; td >= 0; --td) {
    tensor_numel *= old_sizes[td];
    if (td == 0 || (old_sizes[td - 1] != 1 && old_strides[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (td > 0) {
        chunk_base_stride = old_strides[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

Tensor with_geometry(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  Tensor v = make_view(t.storage(), sizes, strides, offset, t.dtype());
  const std::shared_ptr<TensorImpl>& base = t.impl().view_base;
  v.impl().view_base = base ? base : t.impl_ptr();
  return v;
}

// A view that changes only the shape: its gradient is reshaped back.
Tensor reshaped_view(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  OpAttrs attrs;
  attrs.sizes = t.sizes().vec();
  const Shape s = sizes.vec(), st = strides.vec();
  return record_op1(OpId::Reshape, {t}, attrs, [&] { return std::vector<Tensor>{with_geometry(t, s, st, offset)}; });
}

}  // namespace

Tensor Tensor::view(IntArrayRef sizes) const {
  const Shape shape = infer_size(sizes, numel(), "view");
  auto strides = view_strides(this->sizes(), this->strides(), shape);
  FULGUR_CHECK(strides.has_value(), "view", "view size ", shape_str(shape),
               " is not compatible with input tensor's size ", shape_str(this->sizes()),
               " and stride ", shape_str(this->strides()),
               " (at least one dimension spans across two contiguous subspaces); hint: use "
               ".reshape(...) instead");
  return reshaped_view(*this, shape, *strides, storage_offset());
}

Tensor Tensor::reshape(IntArrayRef sizes) const {
  const Shape shape = infer_size(sizes, numel(), "reshape");
  if (auto strides = view_strides(this->sizes(), this->strides(), shape)) {
    return reshaped_view(*this, shape, *strides, storage_offset());
  }
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim(start_dim, dim(), "flatten");
  end_dim = wrap_dim(end_dim, dim(), "flatten");
  FULGUR_CHECK(start_dim <= end_dim, "flatten", "start_dim ", start_dim,
               " cannot come after end_dim ", end_dim);
  Shape shape;
  for (int64_t d = 0; d < start_dim; ++d) shape.push_back(sizes()[d]);
  int64_t merged = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) merged *= sizes()[d];
  shape.push_back(merged);
  for (int64_t d = end_dim + 1; d < dim(); ++d) shape.push_back(sizes()[d]);
  return reshape(shape);
}

Tensor Tensor::squeeze() const {
  Shape sizes_out, strides_out;
  for (int64_t d = 0; d < dim(); ++d) {
    if (sizes()[d] != 1) {
      sizes_out.push_back(sizes()[d]);
      strides_out.push_back(strides()[d]);
    }
  }
  return reshaped_view(*this, sizes_out, strides_out, storage_offset());
}

Tensor Tensor::squeeze(int64_t d) const {
  d = wrap_dim(d, dim(), "squeeze");
  if (dim() == 0 || sizes()[d] != 1) return reshaped_view(*this, sizes(), strides(), storage_offset());
  Shape s = sizes().vec(), st = strides().vec();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return reshaped_view(*this, s, st, storage_offset());
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape s = sizes().vec(), st = strides().vec();
  const int64_t new_stride = d < dim() ? s[d] * st[d] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, new_stride);
  return reshaped_view(*this, s, st, storage_offset());
}

Tensor Tensor::permute(IntArrayRef dims) const {
  FULGUR_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute", "number of dims ", dims.size(),
               " doesn't match the tensor's ", dim(), " dims (shape ", shape_str(sizes()), ")");
  Shape s(dims.size()), st(dims.size());
  OpAttrs attrs;
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], dim(), "permute");
    FULGUR_CHECK(!seen[d], "permute", "dim ", d, " appears more than once in ", shape_str(dims));
    seen[d] = true;
    s[i] = sizes()[d];
    st[i] = strides()[d];
    attrs.dims.push_back(d);
  }
  return record_op1(OpId::Permute, {*this}, attrs,
                    [&] { return std::vector<Tensor>{with_geometry(*this, s, st, storage_offset())}; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  if (dim() == 0) return *this;
  d0 = wrap_dim(d0, dim(), "transpose");
  d1 = wrap_dim(d1, dim(), "transpose");
  Shape perm(static_cast<size_t>(dim()));
  for (int64_t i = 0; i < dim(); ++i) perm[i] = i;
  std::swap(perm[d0], perm[d1]);
  return permute(perm);
}

Tensor Tensor::t() const {
  FULGUR_CHECK(dim() <= 2, "t", "expects a tensor with <= 2 dimensions, but got ", dim(),
               "D (shape ", shape_str(sizes()), "); hint: use transpose(dim0, dim1)");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::expand(IntArrayRef target) const {
  const int64_t nd = static_cast<int64_t>(target.size());
  FULGUR_CHECK(nd >= dim(), "expand", "the number of sizes provided (", nd,
               ") must be greater or equal to the number of dimensions in the tensor (", dim(), ")");
  Shape s(nd), st(nd);
  for (int64_t i = nd - 1; i >= 0; --i) {
    const int64_t offset = nd - 1 - i;
    const int64_t td = dim() - 1 - offset;
    const int64_t size = td >= 0 ? sizes()[td] : 1;
    const int64_t stride = td >= 0 ? strides()[td] : 0;
    int64_t want = target[i];
    if (want == -1) {
      FULGUR_CHECK(td >= 0, "expand", "-1 is not allowed in a leading, new dimension (sizes ",
                   shape_str(target), ")");
      want = size;
    }
    if (size == want) {
      s[i] = size;
      st[i] = stride;
    } else {
      FULGUR_CHECK(size == 1, "expand", "the expanded size of the tensor (", want,
                   ") must match the existing size (", size, ") at non-singleton dimension ", i,
                   ". Target sizes: ", shape_str(target), ". Tensor sizes: ", shape_str(sizes()));
      s[i] = want;
      st[i] = 0;
    }
  }
  OpAttrs attrs;
  attrs.sizes = sizes().vec();
  return record_op1(OpId::Expand, {*this}, attrs,
                    [&] { return std::vector<Tensor>{with_geometry(*this, s, st, storage_offset())}; });
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  FULGUR_CHECK(dim() > 0, "narrow", "cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "narrow");
  const int64_t size = sizes()[d];
  if (start < 0) start += size;
  FULGUR_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow", "start (", start,
               ") + length (", length, ") exceeds dimension size (", size, ") of dim ", d);
  return slice(d, start, start + length, 1);
}

Tensor Tensor::slice(int64_t d, std::optional<int64_t> start_opt, std::optional<int64_t> end_opt,
                     int64_t step) const {
  FULGUR_CHECK(dim() > 0, "slice", "cannot be applied to a 0-dim tensor");
  FULGUR_CHECK(step > 0, "slice", "step must be positive, got ", step);
  d = wrap_dim(d, dim(), "slice");
  const int64_t size = sizes()[d];
  int64_t start = start_opt.value_or(0), end = end_opt.value_or(size);
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape s = sizes().vec(), st = strides().vec();
  s[d] = (end - start + step - 1) / step;
  st[d] *= step;
  OpAttrs attrs;
  attrs.sizes = sizes().vec();
  attrs.dim = d;
  attrs.start = start;
  attrs.end = end;
  attrs.step = step;
  return record_op1(OpId::Slice, {*this}, attrs, [&] {
    return std::vector<Tensor>{with_geometry(*this, s, st, storage_offset() + start * strides()[d])};
  });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  FULGUR_CHECK(dim() > 0, "select", "cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "select");
  const int64_t size = sizes()[d];
  FULGUR_CHECK(index >= -size && index < size, "select", "index ", index,
               " is out of bounds for dimension ", d, " with size ", size);
  if (index < 0) index += size;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::as_strided(IntArrayRef sizes_in, IntArrayRef strides_in,
                          std::optional<int64_t> offset_in) const {
  FULGUR_CHECK(!should_record({this}), "as_strided", "as_strided is not differentiable in Fulgur; hint: use "
               "view, expand, narrow or slice, or call it on a detach()ed tensor");
  FULGUR_CHECK(sizes_in.size() == strides_in.size(), "as_strided", "mismatch in length of sizes (",
               sizes_in.size(), ") and strides (", strides_in.size(), ")");
  const int64_t offset = offset_in.value_or(storage_offset());
  FULGUR_CHECK(offset >= 0, "as_strided", "storage offset must be non-negative, got ", offset);
  int64_t last = offset;
  bool empty = false;
  for (size_t i = 0; i < sizes_in.size(); ++i) {
    FULGUR_CHECK(sizes_in[i] >= 0 && strides_in[i] >= 0, "as_strided", "negative size or stride in sizes ",
                 shape_str(sizes_in), " strides ", shape_str(strides_in));
    if (sizes_in[i] == 0) empty = true;
    else last += (sizes_in[i] - 1) * strides_in[i];
  }
  const int64_t capacity = static_cast<int64_t>(storage()->nbytes() / element_size());
  FULGUR_CHECK(empty || last < capacity, "as_strided", "sizes ", shape_str(sizes_in), ", strides ",
               shape_str(strides_in), " and offset ", offset, " reach element ", last,
               " but the storage holds ", capacity, " elements");
  return with_geometry(*this, sizes_in, strides_in, offset);
}

std::vector<Tensor> Tensor::split(int64_t split_size, int64_t d) const {
  FULGUR_CHECK(dim() > 0, "split", "cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "split");
  FULGUR_CHECK(split_size > 0 || (split_size == 0 && sizes()[d] == 0), "split",
               "split_size must be positive, got ", split_size);
  const int64_t size = sizes()[d];
  std::vector<Tensor> parts;
  if (size == 0) return {*this};
  for (int64_t start = 0; start < size; start += split_size) {
    parts.push_back(narrow(d, start, std::min(split_size, size - start)));
  }
  return parts;
}

std::vector<Tensor> Tensor::split_with_sizes(IntArrayRef split_sizes, int64_t d) const {
  FULGUR_CHECK(dim() > 0, "split_with_sizes", "cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "split_with_sizes");
  const int64_t total = std::accumulate(split_sizes.begin(), split_sizes.end(), int64_t{0});
  FULGUR_CHECK(total == sizes()[d], "split_with_sizes", "split sizes ", shape_str(split_sizes),
               " sum to ", total, " but dimension ", d, " has size ", sizes()[d]);
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t len : split_sizes) {
    parts.push_back(narrow(d, start, len));
    start += len;
  }
  return parts;
}

std::vector<Tensor> Tensor::chunk(int64_t chunks, int64_t d) const {
  FULGUR_CHECK(chunks > 0, "chunk", "number of chunks must be positive, got ", chunks);
  FULGUR_CHECK(dim() > 0, "chunk", "cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "chunk");
  const int64_t size = sizes()[d];
  // An empty dim still gives `chunks` (empty) chunks, as PyTorch; split would give one.
  if (size == 0) return split_with_sizes(Shape(static_cast<size_t>(chunks), 0), d);
  const int64_t split_size = std::max<int64_t>((size + chunks - 1) / chunks, size == 0 ? 0 : 1);
  return split(split_size, d);
}

std::vector<Tensor> Tensor::unbind(int64_t d) const {
  FULGUR_CHECK(dim() > 0, "unbind", "cannot be applied to a 0-dim tensor");
  d = wrap_dim(d, dim(), "unbind");
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < sizes()[d]; ++i) parts.push_back(select(d, i));
  return parts;
}

}  // namespace fulgur

namespace fulgur {

Tensor slice_scatter(const Tensor& src, IntArrayRef sizes, int64_t dim, int64_t start, int64_t end, int64_t step) {
  OpAttrs attrs;
  attrs.sizes = sizes.vec();
  attrs.dim = dim;
  attrs.start = start;
  attrs.end = end;
  attrs.step = step;
  return record_op1(OpId::SliceScatter, {src}, attrs, [&] {
    Tensor out = zeros(attrs.sizes, {.dtype = src.dtype(), .device = src.device()});
    out.slice(dim, start, end, step).copy_(src);
    return std::vector<Tensor>{out};
  });
}

namespace internal {

Tensor as_strided_view(const Tensor& base, const ViewGeometry& g) {
  FULGUR_CHECK(base.is_contiguous(), "as_strided_view", "internal: the base must be contiguous, got strides ",
               shape_str(base.strides()));
  OpAttrs attrs;
  attrs.sizes = g.sizes;
  attrs.dims = g.strides;
  attrs.start = g.offset;
  return record_op1(OpId::AsStrided, {base}, attrs, [&] {
    return std::vector<Tensor>{with_geometry(base, g.sizes, g.strides, base.storage_offset() + g.offset)};
  });
}

Tensor as_strided_scatter(const Tensor& base, const Tensor& src, const ViewGeometry& g, bool in_place) {
  FULGUR_CHECK(base.is_contiguous(), "as_strided_scatter", "internal: the base must be contiguous, got strides ",
               shape_str(base.strides()));
  OpAttrs attrs;
  attrs.sizes = g.sizes;
  attrs.dims = g.strides;
  attrs.start = g.offset;
  return record_op1(OpId::AsStridedScatter, {base, src}, attrs, [&] {
    Tensor out = in_place ? base : base.clone();
    make_view(out.storage(), g.sizes, g.strides, out.storage_offset() + g.offset, out.dtype()).copy_(src);
    return std::vector<Tensor>{out};
  });
}

}  // namespace internal
}  // namespace fulgur
