// The seam between tensor/ and autograd/. tensor/ knows which of its ops are
// differentiable primitives (OpId) and what their backward needs (OpAttrs); autograd/
// installs an AutogradEngine that records those ops on the tape and runs backward. With
// no engine installed (a build without autograd/), ops simply compute.
//
// A differentiable op is written once, as
//   return record_op(OpId::Exp, {x}, attrs, [&] { return std::vector<Tensor>{raw_exp(x)}; })[0];
// record_op runs the raw computation directly when nothing needs recording (grad mode off,
// or no input requires grad), and otherwise hands it to the engine, which runs it with
// recording off and attaches the outputs to a new graph node.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "fulgur/tensor/autograd_meta.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {

// Differentiable primitives. Composite ops (var, softmax, linear, ...) are not listed: they
// are written with these and get their gradients by composition.
enum class OpId : uint16_t {
  // unary
  Neg, Abs, Exp, Log, Log1p, Sqrt, Rsqrt, Sin, Cos, Tanh, Sigmoid, Relu, Erf, Gelu, Silu, Square,
  Reciprocal,
  // binary, inputs already broadcastable and of one dtype
  Add, Sub, Mul, Div, Pow, Minimum, Maximum,
  // ternary
  Where, Clamp,
  // reductions
  Sum, Prod, AMax, AMin, MaxDim, MinDim,
  // views and copies
  Reshape, Expand, Permute, Slice, SliceScatter, ToDtype, ToDevice, Clone,
  // linear algebra, indexing, joining. Linear: inputs x [N, in], weight [out, in] and
  // optionally bias [out]; a primitive (not matmul + add) so that backward writes the weight's
  // gradient directly in the weight's layout.
  Matmul, Linear, Gather, Scatter, ScatterAdd, Cat,
  // sliding windows (tensor/window.cc). Im2col/Col2im: attrs.dims = kernel ++ dilation ++
  // padding ++ stride ++ grid, attrs.sizes = the image's spatial sizes. MaxPool: outputs
  // values and int64 indices.
  Im2col, Col2im, MaxPool,
  // softmax / log_softmax along attrs.dim: one kernel forward, a short composed backward
  Softmax, LogSoftmax,
  // In-place ops on views (internal::apply_inplace). The view's geometry relative to a
  // contiguous base: attrs.sizes, attrs.dims (strides), attrs.start (offset from the base's
  // first element). AsStrided: inputs {base}, the view. AsStridedScatter: inputs {base, src},
  // the base with the view's elements replaced by src.
  AsStrided, AsStridedScatter,
  // nll_loss (nn/functional/loss.cc): inputs scores [N, C, D], int64 targets [N, D] (ignored
  // ones replaced by 0) and per-element weights [N, D] (0 where ignored); attrs.dim is the
  // reduction: 0 none, 1 sum, 2 mean (divided by the sum of the weights).
  NllLoss,
  // fused cross-entropy (tensor/fused_cross_entropy.h): inputs logits [N, C] (contiguous),
  // int64 targets [N], class weights [C] or an empty tensor; outputs per-row loss, per-row
  // target weight, per-row log-sum-exp; attrs.start = ignore_index, attrs.scalar = label
  // smoothing. Only the loss carries a gradient (to the logits).
  CrossEntropy,
  // fused LayerNorm (tensor/fused_layer_norm.h): inputs x [N, C] (contiguous), weight [C] or
  // empty, bias [C] or empty; outputs y, per-row mean, per-row 1/std; attrs.scalar = eps.
  // Only y carries a gradient (to x, weight and bias).
  LayerNorm,
  // fused convolution (tensor/fused_conv.h): inputs x [N, Cin, *image] and weight [Cout,
  // Cin / groups, *kernel] (both contiguous); output y. attrs: internal::conv_attrs.
  Conv,
  // fused training-mode batch norm (tensor/fused_batch_norm.h): inputs x [N, C, *]
  // (contiguous), weight [C], bias [C] (ones / zeros for none); outputs y, per-channel mean,
  // per-channel 1/std; attrs.scalar = eps. Only y carries a gradient.
  BatchNorm,
  // in place: the result replaces the destination's history (see AutogradEngine)
  Fill,
};
inline constexpr int kNumOpIds = static_cast<int>(OpId::Fill) + 1;

// What a backward formula needs besides the inputs and outputs; each op fills its fields.
struct OpAttrs {
  Scalar scalar;           // Gelu: 1 for tanh approximation
  Shape dims;              // Sum/AMax/AMin: reduced dims (empty: all); Permute: the permutation
  Shape sizes;             // Reshape/Expand/SliceScatter: the input's sizes; Cat: each input's size along dim
  int64_t dim = 0;         // MaxDim/MinDim/Slice/Gather/Scatter*/Cat/Prod
  int64_t start = 0;       // Slice/SliceScatter
  int64_t end = 0;         // Slice/SliceScatter
  int64_t step = 1;        // Slice/SliceScatter
  bool keepdim = false;    // reductions
  bool all_dims = false;   // Prod over every dim
  DType dtype = DType::Float32;  // ToDtype: the input's dtype
  Device device = kCPU;          // ToDevice: the input's device
};

using RawOp = std::function<std::vector<Tensor>()>;

class AutogradEngine {
 public:
  virtual ~AutogradEngine() = default;
  // Runs `compute` with recording off and attaches its outputs to a new node for `op`.
  // Only called when grad mode is on and some input requires grad.
  virtual std::vector<Tensor> record(OpId op, const std::vector<Tensor>& inputs, OpAttrs attrs,
                                     const RawOp& compute) = 0;
  // Tensor::backward.
  virtual void backward(const Tensor& root, const Tensor& gradient, bool retain_graph,
                        bool create_graph) = 0;
  // Tensor::register_hook on a non-leaf: its grad_fn takes a share of the hook list.
  virtual void share_hooks_with_grad_fn(const AutogradMeta& meta) = 0;
};

// The installed engine (null until autograd/ installs one).
AutogradEngine* autograd_engine();
void install_autograd_engine(AutogradEngine* engine);

// Thread-local grad mode (torch.is_grad_enabled). Guards live in autograd/grad_mode.h.
bool grad_mode_enabled();
void set_grad_mode(bool enabled);

// Sets grad mode for a scope and restores it after.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(grad_mode_enabled()) { set_grad_mode(enabled); }
  ~GradModeGuard() { set_grad_mode(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

// Whether an op over these inputs must be recorded.
bool should_record(std::initializer_list<const Tensor*> inputs);

// Runs a differentiable op: raw when nothing needs recording, else through the engine.
std::vector<Tensor> record_op(OpId op, const std::vector<Tensor>& inputs, OpAttrs attrs,
                              const RawOp& compute);
// Whether any of these tensors makes an op record (grad mode on, an engine, requires_grad).
bool any_recording_input(const Tensor* begin, const Tensor* end);
// Whether a trace recorder (tensor/trace.h) is installed on this thread.
bool tracing_active();
inline std::vector<Tensor> record_op(OpId op, std::initializer_list<Tensor> inputs, OpAttrs attrs,
                                     const RawOp& compute) {
  if (!tracing_active() && !any_recording_input(inputs.begin(), inputs.end())) return compute();
  return record_op(op, std::vector<Tensor>(inputs), std::move(attrs), compute);
}
inline Tensor record_op1(OpId op, std::initializer_list<Tensor> inputs, OpAttrs attrs,
                         const RawOp& compute) {
  return record_op(op, inputs, std::move(attrs), compute)[0];
}

namespace internal {
// An in-place op on self: runs raw_inplace when nothing needs recording; otherwise computes
// out_of_place(old) (recorded) from `old`, a recorded copy of self's current value (so that
// what the new node saves is not overwritten), writes the result into self and gives self
// its history. When self is a view, the base's storage and history are rewritten instead
// (CopySlices; docs/AUTOGRAD.md). Refuses, like PyTorch, an in-place op on a leaf that
// requires grad (outside NoGradGuard) or on a view of one.
Tensor& apply_inplace(Tensor& self, std::initializer_list<const Tensor*> others, const char* op,
                      const std::function<Tensor(const Tensor& old)>& out_of_place,
                      const std::function<void()>& raw_inplace);

// Where a view sits in a contiguous base: sizes, strides and offset in elements from the
// base's first element.
struct ViewGeometry {
  Shape sizes, strides;
  int64_t offset = 0;
};
// The view of `base` (contiguous) with geometry g, recorded (OpId::AsStrided).
Tensor as_strided_view(const Tensor& base, const ViewGeometry& g);
// base with the elements of geometry g replaced by src (OpId::AsStridedScatter). in_place:
// writes into base's storage and returns a new handle on it (the CopySlices path); else a
// new tensor.
Tensor as_strided_scatter(const Tensor& base, const Tensor& src, const ViewGeometry& g, bool in_place);
// A view whose base took a new autograd history since the view's was built gets a fresh
// one, viewing the base's current history (PyTorch regenerates a view's grad_fn likewise).
void refresh_view_history(const Tensor& t);
}  // namespace internal

}  // namespace fulgur
