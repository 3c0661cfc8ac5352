// Backward formulas. Conventions: `g` is the gradient of output 0; input gradients are
// returned in input order (undefined where an input needs none); OpNode::apply then sums
// each to its input's shape (undoing broadcasting) and casts it to the input's dtype.
#include "fulgur/autograd/formulas.h"

#include <cmath>

#include "fulgur/tensor/fused_cross_entropy.h"
#include "fulgur/tensor/fused_batch_norm.h"
#include "fulgur/tensor/fused_conv.h"
#include "fulgur/tensor/fused_layer_norm.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;

// What a formula reads: bit 0..2 = inputs 0..2, bit 4..5 = outputs 0..1.
struct SavePlan {
  unsigned inputs = 0;
  unsigned outputs = 0;
};

SavePlan save_plan(OpId op) {
  switch (op) {
    case OpId::Abs: case OpId::Log: case OpId::Log1p: case OpId::Sin: case OpId::Cos: case OpId::Gelu:
    case OpId::Silu: case OpId::Square: case OpId::Erf:
      return {1, 0};
    case OpId::Exp: case OpId::Sqrt: case OpId::Rsqrt: case OpId::Tanh: case OpId::Sigmoid: case OpId::Relu:
    case OpId::Reciprocal:
      return {0, 1};
    case OpId::Mul: case OpId::Div: case OpId::Minimum: case OpId::Maximum: case OpId::Matmul:
    case OpId::Linear:
      return {3, 0};
    case OpId::Pow: return {3, 1};
    case OpId::Where: return {1, 0};
    case OpId::Clamp: return {7, 0};
    case OpId::Prod: case OpId::AMax: case OpId::AMin: return {1, 1};
    case OpId::MaxDim: case OpId::MinDim: return {0, 2};
    case OpId::Gather: case OpId::Scatter: case OpId::ScatterAdd: return {2, 0};
    case OpId::MaxPool: return {0, 2};
    case OpId::Softmax: case OpId::LogSoftmax: return {0, 1};
    case OpId::NllLoss: return {6, 0};
    case OpId::CrossEntropy: return {7, 4};
    case OpId::LayerNorm: return {7, 6};
    case OpId::Conv: return {3, 0};
    case OpId::BatchNorm: return {3, 6};
    default: return {0, 0};
  }
}

// Sums g over broadcast dims so that it has `sizes`.
Tensor sum_to(const Tensor& g, IntArrayRef sizes) {
  if (g.sizes() == sizes) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(sizes.size());
  Shape dims;
  for (int64_t d = 0; d < g.dim(); ++d) {
    if (d < lead || (sizes[d - lead] == 1 && g.size(d) != 1)) dims.push_back(d);
  }
  Tensor r = dims.empty() ? g : g.sum(dims, /*keepdim=*/true);
  return r.reshape(sizes);
}

// Re-inserts reduced dims (size 1) into a reduction's gradient when keepdim was false.
Tensor unsqueeze_reduced(const Tensor& g, const Shape& dims, int64_t input_dim, bool keepdim) {
  if (keepdim || input_dim == 0) return g;
  std::vector<bool> reduced(static_cast<size_t>(input_dim), dims.empty());
  for (int64_t d : dims) reduced[static_cast<size_t>(d < 0 ? d + input_dim : d)] = true;
  Tensor r = g;
  for (int64_t d = 0; d < input_dim; ++d)
    if (reduced[static_cast<size_t>(d)]) r = r.unsqueeze(d);
  return r;
}

// The gradient of a scatter's src: g where the index reads it, in src's leading corner (src
// may be larger than the index in any dim; the rest of it is never read).
Tensor scatter_src_gradient(const Tensor& g, int64_t dim, const Tensor& idx, IntArrayRef src_sizes) {
  Tensor r = g.gather(dim, idx);
  if (r.dim() != static_cast<int64_t>(src_sizes.size())) return r;
  for (int64_t d = 0; d < r.dim(); ++d) {
    if (r.size(d) == src_sizes[d]) continue;
    Shape padded = r.sizes().vec();
    padded[d] = src_sizes[d];
    r = slice_scatter(r, padded, d, 0, r.size(d), 1);
  }
  return r;
}

Tensor sign_of(const Tensor& x) { return x.gt(0).to(x.dtype()).sub(x.lt(0).to(x.dtype())); }

std::vector<Tensor> formula(OpNode& n, std::vector<Tensor>& grads) {
  const Tensor& g = grads[0];
  const auto& a = n.attrs;
  const Shape& in_sizes = n.inputs[0].sizes;
  switch (n.op) {
    case OpId::Neg: return {g.neg()};
    case OpId::Abs: return {g.mul(sign_of(n.input(0)))};
    case OpId::Exp: return {g.mul(n.output(0))};
    case OpId::Log: return {g.div(n.input(0))};
    case OpId::Log1p: return {g.div(n.input(0).add(1))};
    case OpId::Sqrt: return {g.div(n.output(0).mul(2))};
    case OpId::Rsqrt: return {g.mul(n.output(0).pow(3)).mul(-0.5)};
    case OpId::Sin: return {g.mul(n.input(0).cos())};
    case OpId::Cos: return {g.mul(n.input(0).sin()).neg()};
    case OpId::Tanh: { const Tensor y = n.output(0); return {g.mul(y.square().neg().add(1))}; }
    case OpId::Sigmoid: { const Tensor y = n.output(0); return {g.mul(y).mul(y.neg().add(1))}; }
    case OpId::Relu: return {g.mul(n.output(0).gt(0).to(g.dtype()))};
    case OpId::Erf: { const Tensor x = n.input(0); return {g.mul(x.square().neg().exp().mul(kTwoOverSqrtPi))}; }
    case OpId::Gelu: {
      const Tensor x = n.input(0);
      if (a.scalar.to_int64() == 0) {  // exact: Phi(x) + x * phi(x)
        const Tensor cdf = x.mul(kInvSqrt2).erf().add(1).mul(0.5);
        const Tensor pdf = x.square().mul(-0.5).exp().mul(kInvSqrt2Pi);
        return {g.mul(cdf.add(x.mul(pdf)))};
      }
      const Tensor x2 = x.square();
      const Tensor t = x.add(x.mul(x2).mul(0.044715)).mul(kSqrt2OverPi).tanh();
      const Tensor du = x2.mul(3 * 0.044715).add(1).mul(kSqrt2OverPi);
      const Tensor d = t.add(1).mul(0.5).add(x.mul(0.5).mul(t.square().neg().add(1)).mul(du));
      return {g.mul(d)};
    }
    case OpId::Silu: {
      const Tensor x = n.input(0);
      const Tensor s = x.sigmoid();
      return {g.mul(s.mul(x.mul(s.neg().add(1)).add(1)))};
    }
    case OpId::Square: return {g.mul(n.input(0)).mul(2)};
    case OpId::Reciprocal: return {g.mul(n.output(0).square()).neg()};

    case OpId::Add: return {g, g};
    case OpId::Sub: return {g, g.neg()};
    case OpId::Mul: return {g.mul(n.input(1)), g.mul(n.input(0))};
    case OpId::Div: {
      const Tensor x = n.input(0), y = n.input(1);
      return {g.div(y), g.mul(x).div(y.square()).neg()};
    }
    case OpId::Pow: {
      const Tensor x = n.input(0), y = n.input(1), out = n.output(0);
      // PyTorch's masks: d/dx is 0 where the exponent is 0; d/dy is 0 where x == 0 and y >= 0.
      const Tensor gx = where(y.eq(0), Scalar(0.0), g.mul(y).mul(x.pow(y.sub(1))));
      const Tensor gy = where(x.eq(0).logical_and(y.ge(0)), Scalar(0.0), g.mul(out).mul(x.log()));
      return {gx, gy};
    }
    case OpId::Minimum: case OpId::Maximum: {
      const Tensor x = n.input(0), y = n.input(1);
      // The smaller (larger) input gets the gradient; ties split it in half, as in PyTorch.
      const Tensor split = where(x.eq(y), g.div(2), g);
      const bool is_min = n.op == OpId::Minimum;
      const Tensor x_loses = is_min ? x.gt(y) : x.lt(y);
      const Tensor y_loses = is_min ? x.lt(y) : x.gt(y);
      return {where(x_loses, Scalar(0.0), split), where(y_loses, Scalar(0.0), split)};
    }
    case OpId::Where: {
      const Tensor c = n.input(0);
      return {Tensor(), where(c, g, Scalar(0.0)), where(c, Scalar(0.0), g)};
    }
    case OpId::Clamp: {
      const Tensor x = n.input(0), lo = n.input(1), hi = n.input(2);
      const Tensor inside = x.ge(lo).logical_and(x.le(hi));
      return {where(inside, g, Scalar(0.0)), where(x.lt(lo), g, Scalar(0.0)), where(x.gt(hi), g, Scalar(0.0))};
    }

    case OpId::Sum:
      return {unsqueeze_reduced(g, a.dims, static_cast<int64_t>(in_sizes.size()), a.keepdim).expand(in_sizes)};
    case OpId::AMax: case OpId::AMin: {
      const Tensor x = n.input(0);
      const int64_t nd = static_cast<int64_t>(in_sizes.size());
      const Tensor out = unsqueeze_reduced(n.output(0), a.dims, nd, a.keepdim);
      const Tensor gg = unsqueeze_reduced(g, a.dims, nd, a.keepdim);
      // Ties share the gradient evenly, as in PyTorch.
      const Tensor mask = x.eq(out).to(g.dtype());
      const Tensor count = mask.sum(a.dims.empty() ? Shape{} : a.dims, /*keepdim=*/true);
      return {gg.mul(mask).div(nd == 0 ? count.reshape({}) : count)};
    }
    case OpId::MaxDim: case OpId::MinDim: {
      const int64_t nd = static_cast<int64_t>(in_sizes.size());
      Tensor idx = n.output(1), gg = g;
      if (nd == 0) return {g.reshape({})};
      if (!a.keepdim) {
        idx = idx.unsqueeze(a.dim);
        gg = gg.unsqueeze(a.dim);
      }
      return {zeros(in_sizes, {.dtype = g.dtype(), .device = g.device()}).scatter(a.dim, idx, gg)};
    }
    case OpId::Prod: {
      const Tensor x = n.input(0);
      const int64_t nd = static_cast<int64_t>(in_sizes.size());
      const Shape dims = a.all_dims ? Shape{} : Shape{a.dim};
      const bool keep = a.all_dims ? false : a.keepdim;
      const Tensor out = unsqueeze_reduced(n.output(0), dims, nd, keep);
      const Tensor gg = unsqueeze_reduced(g, dims, nd, keep);
      // Without zeros: out / x. With exactly one zero in a slice, only that element gets a
      // gradient: the product of the others. With two or more, every gradient is zero.
      // The zero cases are written so that their own derivatives (create_graph) are right:
      // zsum, the sum of the slice's zeros, is 0 but carries their gradient. With one zero,
      // the others get others * zsum / x (0; d/d zero = product of the rest); with two, each
      // zero gets others * (zsum - x), i.e. times the other zero.
      const Tensor is_zero = x.eq(0);
      const Tensor zero_count = is_zero.to(kInt64).sum(dims, /*keepdim=*/true);
      const Tensor safe = where(is_zero, Scalar(1.0), x);
      Tensor others = safe.prod(a.all_dims ? std::nullopt : std::optional<int64_t>(a.dim), true);
      if (a.all_dims) others = others.reshape(Shape(nd, 1));
      const Tensor zsum = where(is_zero, x, Scalar(0.0)).sum(dims, /*keepdim=*/true);
      const Tensor no_zero = gg.mul(out).div(safe);
      const Tensor one_zero = gg.mul(others).mul(where(is_zero, Scalar(1.0), zsum.div(safe)));
      const Tensor two_zeros = where(is_zero, gg.mul(others).mul(zsum.sub(x)), Scalar(0.0));
      return {where(zero_count.eq(0), no_zero,
                    where(zero_count.eq(1), one_zero, where(zero_count.eq(2), two_zeros, Scalar(0.0))))};
    }

    case OpId::Reshape: return {g.reshape(a.sizes)};
    case OpId::Expand: return {sum_to(g, a.sizes)};
    case OpId::Permute: {
      Shape inverse(a.dims.size());
      for (size_t i = 0; i < a.dims.size(); ++i) inverse[static_cast<size_t>(a.dims[i])] = static_cast<int64_t>(i);
      return {g.permute(inverse)};
    }
    case OpId::Slice: return {slice_scatter(g, a.sizes, a.dim, a.start, a.end, a.step)};
    case OpId::SliceScatter: return {g.slice(a.dim, a.start, a.end, a.step)};
    case OpId::ToDtype: return {g.to(a.dtype)};
    case OpId::ToDevice: return {g.to(a.device)};
    case OpId::Clone: return {g};

    case OpId::Matmul: {
      const Tensor x = n.input(0), y = n.input(1);
      const Tensor gx = n.next_edges[0].valid() ? g.matmul(y.transpose(-1, -2)) : Tensor();
      const Tensor gy = n.next_edges[1].valid() ? x.transpose(-1, -2).matmul(g) : Tensor();
      return {gx, gy};
    }
    case OpId::Linear: {
      // y = x W^T + b: dx = g W, dW = g^T x (already in W's [out, in] layout), db = sum_N g.
      std::vector<Tensor> out(n.next_edges.size());
      if (n.next_edges[0].valid()) out[0] = g.matmul(n.input(1));
      if (n.next_edges[1].valid()) out[1] = g.t().matmul(n.input(0));
      if (out.size() > 2 && n.next_edges[2].valid()) out[2] = g.sum({0});
      return out;
    }
    case OpId::Gather: {
      const Tensor idx = n.input(1);
      return {zeros(in_sizes, {.dtype = g.dtype(), .device = g.device()}).scatter_add(a.dim, idx, g), Tensor()};
    }
    case OpId::Scatter: {
      const Tensor idx = n.input(1);
      return {g.scatter(a.dim, idx, Scalar(0.0)), Tensor(), scatter_src_gradient(g, a.dim, idx, n.inputs[2].sizes)};
    }
    case OpId::ScatterAdd: {
      const Tensor idx = n.input(1);
      return {g, Tensor(), scatter_src_gradient(g, a.dim, idx, n.inputs[2].sizes)};
    }
    case OpId::Cat: {
      std::vector<Tensor> out(a.sizes.size());
      int64_t offset = 0;
      for (size_t i = 0; i < a.sizes.size(); ++i) {
        if (a.sizes[i] < 0) continue;  // a skipped empty 1-D input
        out[i] = g.narrow(a.dim, offset, a.sizes[i]);
        offset += a.sizes[i];
      }
      return out;
    }
    case OpId::Im2col: case OpId::Col2im: {
      // attrs.dims = kernel ++ dilation ++ padding ++ stride ++ grid; attrs.sizes = image sizes.
      const size_t nsp = a.sizes.size();
      auto part = [&](size_t i) { return Shape(a.dims.begin() + i * nsp, a.dims.begin() + (i + 1) * nsp); };
      const Shape k = part(0), d = part(1), p = part(2), s = part(3), grid = part(4);
      if (n.op == OpId::Im2col) return {col2im(g, a.sizes, k, d, p, s, grid)};
      return {im2col(g, k, d, p, s, grid)};
    }
    case OpId::MaxPool: {
      // The gradient of each output goes to its argmax (summed where windows share one).
      const Tensor idx = n.output(1);
      const int64_t batch = in_sizes[0], channels = in_sizes[1];
      const int64_t plane = numel_of(IntArrayRef(in_sizes.data() + 2, in_sizes.size() - 2));
      const int64_t windows = numel_of(IntArrayRef(idx.sizes().data() + 2, idx.sizes().size() - 2));
      const Tensor gi = zeros({batch, channels, plane}, {.dtype = g.dtype(), .device = g.device()})
                            .scatter_add(2, idx.reshape({batch, channels, windows}), g.reshape({batch, channels, windows}));
      return {gi.view(in_sizes)};
    }
    case OpId::Softmax: {
      // y = softmax(x): dx = y * (g - sum(g * y)).
      const Tensor y = n.output(0);
      return {y.mul(g.sub(g.mul(y).sum({a.dim}, true)))};
    }
    case OpId::LogSoftmax: {
      // y = log_softmax(x): dx = g - exp(y) * sum(g).
      const Tensor y = n.output(0);
      return {g.sub(y.exp().mul(g.sum({a.dim}, true)))};
    }
    case OpId::AsStrided: {
      // The view's gradient lands on its elements of a zero base.
      const internal::ViewGeometry geo{a.sizes, a.dims, a.start};
      return {internal::as_strided_scatter(zeros(in_sizes, {.dtype = g.dtype(), .device = g.device()}), g, geo, false)};
    }
    case OpId::AsStridedScatter: {
      // The base's gradient is g outside the replaced elements; src's is g on them.
      const internal::ViewGeometry geo{a.sizes, a.dims, a.start};
      const Tensor gc = g.contiguous();
      const Tensor gb = n.next_edges[0].valid()
                            ? internal::as_strided_scatter(gc, zeros(a.sizes, {.dtype = g.dtype(), .device = g.device()}), geo, false)
                            : Tensor();
      const Tensor gs = n.next_edges[1].valid() ? internal::as_strided_view(gc, geo) : Tensor();
      return {gb, gs};
    }
    case OpId::NllLoss: {
      // d loss / d in[n, t[n, d], d] = -w[n, d] (scaled by the reduction); 0 elsewhere.
      const Tensor safe = n.input(1), w = n.input(2);
      Tensor scale = a.dim == 2 ? w.div(w.sum()) : w;
      scale = g.mul(scale).neg();  // g is [N, D] for "none", a scalar otherwise
      const Tensor gi = zeros(in_sizes, {.dtype = g.dtype(), .device = g.device()})
                            .scatter_add(1, safe.unsqueeze(1), scale.unsqueeze(1));
      return {gi, Tensor(), Tensor()};
    }
    case OpId::CrossEntropy: {
      // The fused kernel from the saved log-sum-exp (tensor ops under create_graph).
      return {internal::fused_cross_entropy_backward(n.input(0), n.input(1), n.input(2), n.output(2), g,
                                                     a.start, a.scalar.to_double()),
              Tensor(), Tensor()};
    }
    case OpId::LayerNorm:
      // The fused kernels from the saved mean and 1/std (tensor ops under create_graph).
      return internal::fused_layer_norm_backward(n.input(0), n.input(1), n.input(2), n.output(1), n.output(2), g,
                                                 a.scalar.to_double());
    case OpId::Conv:
      // The fused kernels (im2col / col2im / matmul under create_graph); the input's gradient
      // only when something upstream takes it.
      return internal::fused_conv_backward(n.input(0), n.input(1), g, internal::conv_window_of(a),
                                           n.next_edges[0].valid(), n.next_edges[1].valid());
    case OpId::BatchNorm:
      // The fused kernel from the saved statistics (tensor ops under create_graph).
      return internal::fused_batch_norm_backward(n.input(0), n.input(1), n.output(1), n.output(2), g,
                                                 a.scalar.to_double(), n.next_edges[0].valid(),
                                                 n.next_edges[1].valid(), n.next_edges[2].valid());
    case OpId::Fill: return {Tensor()};
  }
  FULGUR_FAIL("backward", "no formula for op ", static_cast<int>(n.op));
}

}  // namespace

Tensor OpNode::input(size_t i) const {
  FULGUR_CHECK(i < saved_inputs.size(), "backward", "internal: input ", i, " of ", op_name(op), " was not saved");
  return saved_inputs[i].unpack(op_name(op));
}

Tensor OpNode::output(size_t i) const {
  FULGUR_CHECK(i < saved_outputs.size(), "backward", "internal: output ", i, " of ", op_name(op), " was not saved");
  Tensor t = saved_outputs[i].unpack(op_name(op));
  // Saved without history (see make_op_node); with create_graph it must lead back to this
  // node, as the output itself does.
  std::shared_ptr<Node> node = self.lock();
  if (t.defined() && t.is_floating_point() && grad_mode_enabled() && node) {
    t = make_view(t.storage(), t.sizes(), t.strides(), t.storage_offset(), t.dtype());
    auto meta = std::make_shared<AutogradMeta>();
    meta->requires_grad = true;
    meta->grad_fn = std::move(node);
    meta->output_nr = static_cast<uint32_t>(i);
    t.impl().autograd = std::move(meta);
  }
  return t;
}

std::vector<Tensor> OpNode::apply(std::vector<Tensor>&& grads) {
  if (grads.empty() || !grads[0].defined()) {
    // Only a second output (indices) or nothing received a gradient: nothing flows back.
    return std::vector<Tensor>(next_edges.size());
  }
  std::vector<Tensor> result = formula(*this, grads);
  result.resize(next_edges.size());
  for (size_t i = 0; i < result.size(); ++i) {
    if (!next_edges[i].valid() || !result[i].defined()) {
      result[i] = Tensor();
      continue;
    }
    const OutputInfo& info = inputs[i];
    if (!(result[i].sizes() == info.sizes)) result[i] = sum_to(result[i], info.sizes);
    if (result[i].dtype() != info.dtype) result[i] = result[i].to(info.dtype);
  }
  return result;
}

void OpNode::release_saved() {
  for (SavedTensor& s : saved_inputs) s.reset();
  for (SavedTensor& s : saved_outputs) s.reset();
}

std::string OpNode::name() const { return std::string(op_name(op)) + "Backward"; }

std::shared_ptr<OpNode> make_op_node(OpId op, const std::vector<Tensor>& inputs, OpAttrs attrs,
                                     const std::vector<Tensor>& outputs) {
  bool any_floating = false;
  for (const Tensor& t : outputs) any_floating = any_floating || t.is_floating_point();
  if (!any_floating) return nullptr;
  auto node = make_node<OpNode>();
  node->op = op;
  node->attrs = std::move(attrs);
  node->forward_op = op_name(op);
  const SavePlan plan = save_plan(op);
  node->saved_inputs.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    node->inputs.push_back({inputs[i].sizes().vec(), inputs[i].dtype(), inputs[i].device()});
    if (plan.inputs & (1u << i)) node->saved_inputs[i] = SavedTensor(inputs[i]);
  }
  node->saved_outputs.resize(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    // An alias without history: the output's autograd state will point at this node, so
    // saving the output itself would make a reference cycle (node -> output -> node) that
    // leaks every graph whose saved tensors backward does not release (no backward, or a
    // retained graph). output() re-attaches this node when it is differentiated again.
    const Tensor& o = outputs[i];
    if (plan.outputs & (1u << i)) {
      node->saved_outputs[i] = SavedTensor(make_view(o.storage(), o.sizes(), o.strides(), o.storage_offset(), o.dtype()));
    }
  }
  node->self = node;
  return node;
}

bool is_view_op(OpId op) {
  return op == OpId::Reshape || op == OpId::Expand || op == OpId::Permute || op == OpId::Slice ||
         op == OpId::AsStrided;
}

const char* op_name(OpId op) {
  switch (op) {
    case OpId::Neg: return "Neg";
    case OpId::Abs: return "Abs";
    case OpId::Exp: return "Exp";
    case OpId::Log: return "Log";
    case OpId::Log1p: return "Log1p";
    case OpId::Sqrt: return "Sqrt";
    case OpId::Rsqrt: return "Rsqrt";
    case OpId::Sin: return "Sin";
    case OpId::Cos: return "Cos";
    case OpId::Tanh: return "Tanh";
    case OpId::Sigmoid: return "Sigmoid";
    case OpId::Relu: return "Relu";
    case OpId::Erf: return "Erf";
    case OpId::Gelu: return "Gelu";
    case OpId::Silu: return "Silu";
    case OpId::Square: return "Square";
    case OpId::Reciprocal: return "Reciprocal";
    case OpId::Add: return "Add";
    case OpId::Sub: return "Sub";
    case OpId::Mul: return "Mul";
    case OpId::Div: return "Div";
    case OpId::Pow: return "Pow";
    case OpId::Minimum: return "Minimum";
    case OpId::Maximum: return "Maximum";
    case OpId::Where: return "Where";
    case OpId::Clamp: return "Clamp";
    case OpId::Sum: return "Sum";
    case OpId::Prod: return "Prod";
    case OpId::AMax: return "Amax";
    case OpId::AMin: return "Amin";
    case OpId::MaxDim: return "Max";
    case OpId::MinDim: return "Min";
    case OpId::Reshape: return "View";
    case OpId::Expand: return "Expand";
    case OpId::Permute: return "Permute";
    case OpId::Slice: return "Slice";
    case OpId::SliceScatter: return "SliceScatter";
    case OpId::ToDtype: return "ToCopy";
    case OpId::ToDevice: return "ToDevice";
    case OpId::Clone: return "Clone";
    case OpId::Matmul: return "Mm";
    case OpId::Linear: return "Linear";
    case OpId::Gather: return "Gather";
    case OpId::Scatter: return "Scatter";
    case OpId::ScatterAdd: return "ScatterAdd";
    case OpId::Cat: return "Cat";
    case OpId::Im2col: return "Im2Col";
    case OpId::Col2im: return "Col2Im";
    case OpId::MaxPool: return "MaxPoolWithIndices";
    case OpId::CrossEntropy: return "CrossEntropy";
    case OpId::LayerNorm: return "NativeLayerNorm";
    case OpId::Conv: return "Convolution";
    case OpId::BatchNorm: return "NativeBatchNorm";
    case OpId::Softmax: return "Softmax";
    case OpId::LogSoftmax: return "LogSoftmax";
    case OpId::NllLoss: return "NllLoss";
    case OpId::AsStrided: return "AsStrided";
    case OpId::AsStridedScatter: return "CopySlices";
    case OpId::Fill: return "Fill";
  }
  return "Unknown";
}

}  // namespace fulgur
