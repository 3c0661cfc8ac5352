// Internal to the exporter: the graph being built (implemented in export.cc) and the mapping
// of each traced op to ONNX nodes (export_ops.cc).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "fulgur/nn/onnx/trace.h"

namespace fulgur::onnx {

// ONNX TensorProto.DataType of a fulgur dtype.
int32_t onnx_dtype(DType dtype);

// A traced node with its counterparts in the passes where a dynamic axis was grown (same
// index, same op), so that an op can tell which of its sizes follow the dynamic axes.
struct ExportNode {
  const TraceNode* node = nullptr;
  std::vector<const TraceNode*> variants;
};

class GraphBuilder {
 public:
  virtual ~GraphBuilder() = default;
  virtual int64_t opset() const = 0;
  // Name of a value (node input/output) in the graph; "" for an absent optional input.
  virtual std::string name(int value) const = 0;
  // The value's tensor in the sample pass, and in the variant passes (one per dynamic axis).
  virtual const Tensor& tensor(int value) const = 0;
  virtual std::vector<const Tensor*> variant_tensors(int value) const = 0;
  // Whether dim d of a value changes with a dynamic axis.
  bool varies(int value, int64_t d) const;
  // Appends a node; its outputs are fresh names unless given.
  virtual ::onnx::NodeProto& add_node(const std::string& op_type, const std::vector<std::string>& inputs,
                                      const std::vector<std::string>& outputs) = 0;
  // A fresh intermediate name.
  virtual std::string fresh(const std::string& hint) = 0;
  // An initializer holding these values (int64 1-D) / this tensor; returns its name.
  virtual std::string int64s(const std::vector<int64_t>& values) = 0;
  virtual std::string constant(const Tensor& t) = 0;
  // Dynamic axis k (the k-th variant pass): its size in the sample, and the name of a 1-D int64
  // tensor of one element holding its size at run time (read from a graph input's shape).
  virtual int64_t symbol_size(size_t k) const = 0;
  virtual std::string symbol_value(size_t k) = 0;
  // Whether a value is read by a node that is emitted or is a graph output.
  virtual bool used(int value) const = 0;
  // Throws fulgur::Error "onnx export: <op>: <what>; hint: <hint>".
  [[noreturn]] void refuse(const std::string& op, const std::string& what, const std::string& hint = "") const;
};

void add_attr(::onnx::NodeProto& n, const std::string& name, int64_t v);
void add_attr(::onnx::NodeProto& n, const std::string& name, float v);
void add_attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
void add_attr(::onnx::NodeProto& n, const std::string& name, const std::string& v);

// The user-facing name of a traced op ("conv", "im2col", "add"), for messages.
std::string op_name(const TraceNode& n);

// Emits the ONNX nodes computing n (throws for ops without an ONNX counterpart).
void emit_node(GraphBuilder& g, const ExportNode& n);

}  // namespace fulgur::onnx
