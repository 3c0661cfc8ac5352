// The exporter's trace: a TraceRecorder (tensor/trace.h) that turns one forward pass into a
// list of nodes over numbered values. Values are the forward's inputs, the parameters and
// buffers (which count as traced, so that ops on them alone are kept), node outputs, and
// constants: any other tensor a traced op reads (a number, a tensor made inside forward,
// the result of ops on constants only), snapshotted when first read.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fulgur/tensor/trace.h"

namespace fulgur::onnx {

struct TraceValue {
  enum class Kind { Input, Param, Node, Constant };
  Kind kind = Kind::Constant;
  Tensor tensor;     // as computed in this pass (constants: a copy)
  int index = -1;    // Input: which input; Param: which parameter; Node: the producing node
  std::string name;  // Param: its dotted name
};

struct TraceNode {
  bool named = false;  // a named op (tensor/trace.h) rather than a primitive
  OpId op = OpId::Neg;
  std::string name;    // named ops: "conv", "gt", ...
  OpAttrs attrs;       // primitives
  TraceAttrs named_attrs;
  std::vector<int> inputs;   // value ids; -1: an absent optional input
  std::vector<int> outputs;  // value ids
};

class Trace final : public TraceRecorder {
 public:
  Trace(const std::vector<Tensor>& inputs, const std::vector<std::pair<std::string, Tensor>>& params);

  void on_op(OpId op, const std::vector<Tensor>& inputs, const OpAttrs& attrs,
             const std::vector<Tensor>& outputs) override;
  void on_named_op(const std::string& name, const std::vector<Tensor>& inputs, const TraceAttrs& attrs,
                   const std::vector<Tensor>& outputs) override;
  void on_inplace(const Tensor& self, const Tensor& value) override;
  bool is_traced(const Tensor& t) const override;

  // The value a forward output is (a constant when no traced op produced it).
  int output_value(const Tensor& t);

  const std::vector<TraceValue>& values() const { return values_; }
  const std::vector<TraceNode>& nodes() const { return nodes_; }

 private:
  int input_value(const Tensor& t, const std::string& op);
  int add_value(TraceValue v);
  void add_node(TraceNode node, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
                const std::string& op);
  bool any_traced(const std::vector<Tensor>& inputs) const;

  std::vector<TraceValue> values_;
  std::vector<TraceNode> nodes_;
  std::unordered_map<const TensorImpl*, int> traced_;     // tensors -> their current value
  std::unordered_map<const TensorImpl*, int> constants_;  // tensors snapshotted as constants
  // Tensors whose storage an in-place op changed behind them (another view of it was
  // written): reading them later would read data the trace does not describe.
  std::map<const TensorImpl*, std::string> stale_;
  std::vector<Tensor> keep_alive_;  // so that no TensorImpl address is reused during the pass
};

}  // namespace fulgur::onnx
