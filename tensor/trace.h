// The seam between tensor ops and a tracer (nn/onnx's exporter). While a TraceRecorder is
// installed on this thread, every differentiable primitive (record_op), the comparison and
// logical ops, in-place updates of traced tensors, and the named composites that nn:: builds
// from primitives (conv, pooling) report themselves to it with their inputs, attributes and
// outputs. Ops run as usual; tracing only observes. With no recorder installed (the normal
// case) the cost is one thread-local read per op.
//
// A composite hides its inner ops: nn::functional::conv2d is reported once, as "conv" with its
// strides and pads, not as the reshape/im2col/matmul it is made of:
//   TracedComposite trace;                       // suspends the recorder (inner ops unseen)
//   Tensor out = ...;                            // the composite's body
//   if (trace.active()) trace.record("conv", {x, w, b}, {{"strides", stride}}, {out});
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {

// One attribute of a named op: an int, a float, a list of ints or a string.
struct TraceAttr {
  std::string name;
  std::variant<int64_t, double, Shape, std::string> value;
};
using TraceAttrs = std::vector<TraceAttr>;

class TraceRecorder {
 public:
  virtual ~TraceRecorder() = default;
  // A differentiable primitive (see OpId, OpAttrs). Undefined inputs are absent optionals.
  virtual void on_op(OpId op, const std::vector<Tensor>& inputs, const OpAttrs& attrs,
                     const std::vector<Tensor>& outputs) = 0;
  // A non-differentiable op ("gt", "logical_not") or a composite ("conv", "max_pool").
  virtual void on_named_op(const std::string& name, const std::vector<Tensor>& inputs, const TraceAttrs& attrs,
                           const std::vector<Tensor>& outputs) = 0;
  // `self` was overwritten in place and now holds `value` (a traced result).
  virtual void on_inplace(const Tensor& self, const Tensor& value) = 0;
  // Whether t is a value of the trace (an input, or computed from one by traced ops).
  virtual bool is_traced(const Tensor& t) const = 0;
};

// This thread's recorder, or null.
TraceRecorder* trace_recorder();

// Installs a recorder (null: none) on this thread for a scope and restores the previous one.
class TraceRecorderGuard {
 public:
  explicit TraceRecorderGuard(TraceRecorder* recorder);
  ~TraceRecorderGuard();
  TraceRecorderGuard(const TraceRecorderGuard&) = delete;
  TraceRecorderGuard& operator=(const TraceRecorderGuard&) = delete;

 private:
  TraceRecorder* previous_;
};

// Whether tracing is on and one of these tensors is traced (an in-place op on it must then be
// reported rather than run raw).
bool trace_involves(std::initializer_list<const Tensor*> tensors);

// Reports a named op to the recorder, if any.
void trace_named_op(const std::string& name, const std::vector<Tensor>& inputs, const TraceAttrs& attrs,
                    const std::vector<Tensor>& outputs);

// A composite op: hides its inner ops from the recorder for its lifetime; record() reports it.
class TracedComposite {
 public:
  TracedComposite() : recorder_(trace_recorder()), suspend_(nullptr) {}
  bool active() const { return recorder_ != nullptr; }
  void record(const std::string& name, const std::vector<Tensor>& inputs, const TraceAttrs& attrs,
              const std::vector<Tensor>& outputs) const {
    if (recorder_) recorder_->on_named_op(name, inputs, attrs, outputs);
  }

 private:
  TraceRecorder* recorder_;
  TraceRecorderGuard suspend_;
};

}  // namespace fulgur
