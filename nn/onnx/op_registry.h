// The operator registry of the ONNX runtime: one kernel per op type of the default domain.
// Each kernel receives the node, its input tensors and the opset version the model declares
// for the default domain, so that it can honour that version's semantics.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::onnx {

class OpContext {
 public:
  OpContext(const ::onnx::NodeProto& node, int64_t opset, std::vector<Tensor> inputs)
      : node_(node), opset_(opset), inputs_(std::move(inputs)) {}

  const ::onnx::NodeProto& node() const { return node_; }
  int64_t opset() const { return opset_; }
  // Number of inputs given (optional trailing inputs may be absent).
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i].defined(); }
  const Tensor& input(size_t i) const;  // throws naming the node when missing
  size_t num_outputs() const { return static_cast<size_t>(node_.output_size()); }

  bool has_attr(const std::string& name) const { return find(name) != nullptr; }
  int64_t attr_int(const std::string& name, std::optional<int64_t> def = std::nullopt) const;
  float attr_float(const std::string& name, std::optional<float> def = std::nullopt) const;
  std::string attr_string(const std::string& name, std::optional<std::string> def = std::nullopt) const;
  std::vector<int64_t> attr_ints(const std::string& name,
                                 std::optional<std::vector<int64_t>> def = std::nullopt) const;
  std::vector<float> attr_floats(const std::string& name) const;
  Tensor attr_tensor(const std::string& name) const;

  // "Op 'name'": for error messages.
  std::string where() const;
  [[noreturn]] void fail(const std::string& message) const;
  void check(bool cond, const std::string& message) const {
    if (!cond) fail(message);
  }

 private:
  const ::onnx::AttributeProto* find(const std::string& name) const;
  const ::onnx::NodeProto& node_;
  int64_t opset_;
  std::vector<Tensor> inputs_;
};

using OpKernel = std::function<std::vector<Tensor>(const OpContext&)>;
using OpRegistry = std::map<std::string, OpKernel>;

// All built-in operators (built once).
const OpRegistry& op_registry();

// Per-file registration (ops/*.cc).
void register_elementwise_ops(OpRegistry& r);
void register_activation_ops(OpRegistry& r);
void register_conv_ops(OpRegistry& r);
void register_pool_ops(OpRegistry& r);
void register_normalization_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_reduce_ops(OpRegistry& r);
void register_linalg_ops(OpRegistry& r);
void register_export_support_ops(OpRegistry& r);

// Helpers shared by kernels.
// Normalises an axis in [-rank, rank) to [0, rank).
int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank);
// A 1-D integer tensor as int64 values.
std::vector<int64_t> to_int64s(const Tensor& t);
// pads: begins then ends, one per dim of x (ONNX layout). mode: constant, reflect, edge.
Tensor pad_tensor(const OpContext& ctx, const Tensor& x, const std::vector<int64_t>& pads,
                  const std::string& mode, double value);

}  // namespace fulgur::onnx
