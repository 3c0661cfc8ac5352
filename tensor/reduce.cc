// Reductions. sum/prod/max/min/all/any are kernels; mean, var/std, norm, logsumexp,
// softmax and log_softmax run as one kernel each (kernels/cpu/softmax.cc).
#include <cmath>
#include <limits>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur {
namespace {

using kernels::ReduceOp;

// Which dims of x are reduced: all when dims is empty (PyTorch's dim=[]).
std::vector<bool> reduced_mask(const Tensor& x, IntArrayRef dims, const char* op) {
  const int64_t nd = x.dim();
  std::vector<bool> mask(static_cast<size_t>(nd), dims.empty());
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, nd, op);
    if (nd == 0) continue;
    FULGUR_CHECK(!mask[w], op, "dim ", w, " appears multiple times in the list of dims ", shape_str(dims));
    mask[w] = true;
  }
  return mask;
}

struct Reduction {
  Tensor values;
  Tensor indices;  // defined for Max/Min when asked
};

Reduction run_reduce(const Tensor& x, ReduceOp op, const std::vector<bool>& mask, bool keepdim,
                     DType out_dtype, bool want_indices, const char* name) {
  const int64_t nd = x.dim();
  Shape keep_shape, out_shape;
  for (int64_t d = 0; d < nd; ++d) {
    keep_shape.push_back(mask[d] ? 1 : x.sizes()[d]);
    if (!mask[d]) out_shape.push_back(x.sizes()[d]);
  }
  int64_t reduced_count = 1;
  for (int64_t d = 0; d < nd; ++d)
    if (mask[d]) reduced_count *= x.sizes()[d];
  if (op == ReduceOp::Max || op == ReduceOp::Min) {
    FULGUR_CHECK(reduced_count > 0 || numel_of(keep_shape) == 0, name,
                 "cannot reduce over a zero-size dimension of the input (shape ", shape_str(x.sizes()),
                 ") because the operation has no identity; hint: check the tensor is non-empty");
  }
  Reduction r;
  r.values = make_tensor(keep_shape, out_dtype, x.device());
  if (want_indices) r.indices = make_tensor(keep_shape, DType::Int64, x.device());

  kernels::ReduceArgs a;
  a.op = op;
  a.in_dtype = x.dtype();
  a.out_dtype = out_dtype;
  a.in = static_cast<const char*>(x.data_ptr());
  a.out = static_cast<char*>(r.values.data_ptr());
  a.indices = want_indices ? static_cast<char*>(r.indices.data_ptr()) : nullptr;
  const int64_t es = static_cast<int64_t>(x.element_size());
  const int64_t os = static_cast<int64_t>(r.values.element_size());
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t size = x.sizes()[d];
    if (size == 1) continue;  // contributes nothing either way
    if (mask[d]) {
      // Merge with the previous reduced dim when memory allows: longer contiguous runs, and
      // the row-major flat index over reduced dims is unchanged.
      if (a.nred > 0 && a.in_red_strides[a.nred - 1] == x.strides()[d] * size * es) {
        a.red_sizes[a.nred - 1] *= size;
        a.in_red_strides[a.nred - 1] = x.strides()[d] * es;
        continue;
      }
      FULGUR_CHECK(a.nred < kernels::kMaxDims, name, "too many dimensions");
      a.red_sizes[a.nred] = size;
      a.in_red_strides[a.nred] = x.strides()[d] * es;
      ++a.nred;
    } else {
      FULGUR_CHECK(a.nkeep < kernels::kMaxDims, name, "too many dimensions");
      a.keep_sizes[a.nkeep] = size;
      a.in_keep_strides[a.nkeep] = x.strides()[d] * es;
      a.out_strides[a.nkeep] = r.values.strides()[d] * os;
      a.idx_strides[a.nkeep] = want_indices ? r.indices.strides()[d] * 8 : 0;
      ++a.nkeep;
    }
  }
  if (r.values.numel() > 0) internal::table(x, name).reduce(a);
  if (!keepdim) {
    r.values = r.values.view(out_shape);
    if (want_indices) r.indices = r.indices.view(out_shape);
  }
  return r;
}

DType sum_dtype(DType in) { return is_floating(in) ? in : DType::Int64; }

void require_floating(const Tensor& x, const char* op) {
  FULGUR_CHECK(x.is_floating_point(), op,
               "could not infer output dtype: input dtype must be floating point, got ", x.dtype(),
               "; hint: convert with .to(kFloat32)");
}

int64_t reduced_numel(const Tensor& x, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (mask[d]) n *= x.sizes()[d];
  return n;
}

// The reduced dims as a list (what backward formulas read).
Shape reduced_dims(const std::vector<bool>& mask) {
  Shape dims;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) dims.push_back(static_cast<int64_t>(d));
  return dims;
}

// run_reduce, recorded as `op` for autograd.
Tensor reduce_values(const Tensor& x, ReduceOp kind, OpId op, const std::vector<bool>& mask, bool keepdim,
                     DType out_dtype, const char* name) {
  OpAttrs attrs;
  attrs.dims = reduced_dims(mask);
  attrs.keepdim = keepdim;
  return record_op1(op, {x}, attrs, [&] {
    return std::vector<Tensor>{run_reduce(x, kind, mask, keepdim, out_dtype, false, name).values};
  });
}

Tensor sum_over(const Tensor& x, const std::vector<bool>& mask, bool keepdim, DType out_dtype, const char* name) {
  return reduce_values(x, ReduceOp::Sum, OpId::Sum, mask, keepdim, out_dtype, name);
}

std::tuple<Tensor, Tensor> reduce_dim(const Tensor& x, ReduceOp kind, int64_t dim, bool keepdim, const char* name) {
  const auto mask = reduced_mask(x, {dim}, name);
  OpAttrs attrs;
  attrs.dim = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), name);
  attrs.keepdim = keepdim;
  auto out = record_op(kind == ReduceOp::Max ? OpId::MaxDim : OpId::MinDim, {x}, attrs, [&] {
    auto r = run_reduce(x, kind, mask, keepdim, x.dtype(), true, name);
    return std::vector<Tensor>{r.values, r.indices};
  });
  return {out[0], out[1]};
}

}  // namespace

Tensor Tensor::sum(IntArrayRef dims, bool keepdim, std::optional<DType> dtype) const {
  const Tensor x = dtype ? to(*dtype) : *this;
  const auto mask = reduced_mask(x, dims, "sum");
  // An explicit dtype is the result's dtype (torch.sum(dtype=int32) is int32).
  return sum_over(x, mask, keepdim, dtype ? *dtype : sum_dtype(x.dtype()), "sum");
}

Tensor Tensor::mean(IntArrayRef dims, bool keepdim) const {
  require_floating(*this, "mean");
  const auto mask = reduced_mask(*this, dims, "mean");
  const Tensor s = sum_over(*this, mask, keepdim, dtype(), "mean");
  return s.div(static_cast<double>(reduced_numel(*this, mask)));
}

Tensor Tensor::prod(std::optional<int64_t> dim, bool keepdim) const {
  const auto mask = dim ? reduced_mask(*this, {*dim}, "prod") : reduced_mask(*this, {}, "prod");
  OpAttrs attrs;
  attrs.all_dims = !dim;
  attrs.dim = dim && this->dim() > 0 ? wrap_dim(*dim, this->dim(), "prod") : 0;
  attrs.keepdim = keepdim && dim;
  return record_op1(OpId::Prod, {*this}, attrs, [&] {
    return std::vector<Tensor>{run_reduce(*this, ReduceOp::Prod, mask, keepdim && dim, sum_dtype(dtype()), false, "prod").values};
  });
}

Tensor Tensor::var(IntArrayRef dims, double correction, bool keepdim) const {
  require_floating(*this, "var");
  const auto mask = reduced_mask(*this, dims, "var");
  const Tensor mu = mean(dims, /*keepdim=*/true);
  const Tensor sq = sub(mu).square();
  const Tensor s = sum_over(sq, mask, keepdim, dtype(), "var");
  const double n = static_cast<double>(reduced_numel(*this, mask));
  return s.div(std::max(0.0, n - correction));
}

Tensor Tensor::std(IntArrayRef dims, double correction, bool keepdim) const {
  return var(dims, correction, keepdim).sqrt();
}

Tensor Tensor::norm(double p, IntArrayRef dims, bool keepdim) const {
  require_floating(*this, "norm");
  const auto mask = reduced_mask(*this, dims, "norm");
  auto sum_of = [&](const Tensor& t) { return sum_over(t, mask, keepdim, t.dtype(), "norm"); };
  if (std::isinf(p)) {
    if (reduced_numel(*this, mask) == 0 && p > 0) return sum_of(abs());  // empty: 0
    return p > 0 ? reduce_values(abs(), ReduceOp::Max, OpId::AMax, mask, keepdim, dtype(), "norm")
                 : reduce_values(abs(), ReduceOp::Min, OpId::AMin, mask, keepdim, dtype(), "norm");
  }
  if (p == 0) return sum_of(ne(0).to(dtype()));
  if (p == 1) return sum_of(abs());
  if (p == 2) return sum_of(square()).sqrt();
  return sum_of(abs().pow(p)).pow(1.0 / p);
}

Tensor Tensor::logsumexp(IntArrayRef dims, bool keepdim) const {
  const Tensor x = is_floating_point() ? *this : to(DType::Float32);
  const auto mask = reduced_mask(x, dims, "logsumexp");
  if (reduced_numel(x, mask) == 0) return sum_over(x, mask, keepdim, x.dtype(), "logsumexp").log();
  // Shift by the max so exp cannot overflow; an infinite max shifts by 0 instead of NaN. The
  // result does not depend on the shift, so it carries no gradient.
  Tensor m = run_reduce(x.detach(), ReduceOp::Max, mask, true, x.dtype(), false, "logsumexp").values;
  m = where(isfinite(m), m, Scalar(0.0));
  const Tensor s = sum_over(x.sub(m).exp(), mask, true, x.dtype(), "logsumexp");
  Tensor out = s.log().add(m);
  if (!keepdim) {
    Shape shape;
    for (int64_t d = 0; d < x.dim(); ++d)
      if (!mask[d]) shape.push_back(x.sizes()[d]);
    out = out.view(shape);
  }
  return out;
}

Tensor Tensor::max() const {
  return reduce_values(*this, ReduceOp::Max, OpId::AMax, reduced_mask(*this, {}, "max"), false, dtype(), "max");
}
Tensor Tensor::min() const {
  return reduce_values(*this, ReduceOp::Min, OpId::AMin, reduced_mask(*this, {}, "min"), false, dtype(), "min");
}

std::tuple<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const {
  return reduce_dim(*this, ReduceOp::Max, dim, keepdim, "max");
}
std::tuple<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const {
  return reduce_dim(*this, ReduceOp::Min, dim, keepdim, "min");
}

Tensor Tensor::amax(IntArrayRef dims, bool keepdim) const {
  return reduce_values(*this, ReduceOp::Max, OpId::AMax, reduced_mask(*this, dims, "amax"), keepdim, dtype(), "amax");
}
Tensor Tensor::amin(IntArrayRef dims, bool keepdim) const {
  return reduce_values(*this, ReduceOp::Min, OpId::AMin, reduced_mask(*this, dims, "amin"), keepdim, dtype(), "amin");
}

Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim) const {
  if (!dim) return reshape({-1}).argmax(0, false);
  return std::get<1>(max(*dim, keepdim));
}
Tensor Tensor::argmin(std::optional<int64_t> dim, bool keepdim) const {
  if (!dim) return reshape({-1}).argmin(0, false);
  return std::get<1>(min(*dim, keepdim));
}

Tensor Tensor::all(std::optional<int64_t> dim, bool keepdim) const {
  TracedComposite trace;  // one op for an exporter (not a differentiable primitive)
  const auto mask = dim ? reduced_mask(*this, {*dim}, "all") : reduced_mask(*this, {}, "all");
  const DType out = dtype() == DType::UInt8 ? DType::UInt8 : DType::Bool;  // as PyTorch
  Tensor result = run_reduce(*this, ReduceOp::All, mask, keepdim && dim, out, false, "all").values;
  if (trace.active())
    trace.record("all", {*this}, {{"dim", dim ? *dim : int64_t{-1}}, {"all_dims", int64_t{!dim}}, {"keepdim", int64_t{keepdim}}},
                 {result});
  return result;
}
Tensor Tensor::any(std::optional<int64_t> dim, bool keepdim) const {
  TracedComposite trace;  // one op for an exporter (not a differentiable primitive)
  const auto mask = dim ? reduced_mask(*this, {*dim}, "any") : reduced_mask(*this, {}, "any");
  const DType out = dtype() == DType::UInt8 ? DType::UInt8 : DType::Bool;
  Tensor result = run_reduce(*this, ReduceOp::Any, mask, keepdim && dim, out, false, "any").values;
  if (trace.active())
    trace.record("any", {*this}, {{"dim", dim ? *dim : int64_t{-1}}, {"all_dims", int64_t{!dim}}, {"keepdim", int64_t{keepdim}}},
                 {result});
  return result;
}

namespace {

// softmax and log_softmax: one kernel over a contiguous [outer, dim, inner] layout.
Tensor softmax_op(const Tensor& self, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  require_floating(self, op);
  dim = wrap_dim(dim, self.dim(), op);
  if (self.numel() == 0) return self.clone();  // PyTorch returns an empty result
  OpAttrs attrs;
  attrs.dim = dim;
  return record_op1(log ? OpId::LogSoftmax : OpId::Softmax, {self}, attrs, [&] {
    const Tensor x = self.contiguous();
    Tensor out = make_tensor(self.sizes(), self.dtype(), self.device());
    kernels::SoftmaxArgs a;
    a.dtype = self.dtype();
    a.log = log;
    a.outer = 1;
    a.inner = 1;
    for (int64_t d = 0; d < self.dim(); ++d) {
      if (d < dim) a.outer *= self.size(d);
      if (d > dim) a.inner *= self.size(d);
    }
    a.dim = self.dim() == 0 ? 1 : self.size(dim);
    a.in = static_cast<const char*>(x.data_ptr());
    a.out = static_cast<char*>(out.data_ptr());
    const auto fn = internal::table(self, op).softmax;
    FULGUR_CHECK(fn != nullptr, op, "not available on ", self.device());
    fn(a);
    return std::vector<Tensor>{out};
  });
}

}  // namespace

Tensor Tensor::softmax(int64_t dim) const { return softmax_op(*this, dim, false); }
Tensor Tensor::log_softmax(int64_t dim) const { return softmax_op(*this, dim, true); }

}  // namespace fulgur
