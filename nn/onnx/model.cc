// Loading and checking an ONNX model: the parts of InferenceSession that run once.
#include <onnx/onnx_pb.h>

#include <fstream>
#include <set>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/nn/onnx/model_impl.h"
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/nn/onnx/tensor_proto.h"

namespace fulgur::onnx {
namespace {

constexpr const char* kOp = "onnx::InferenceSession";
// Highest default-domain opset whose semantics the kernels follow.
constexpr int64_t kMaxOpset = 18;

ValueInfo value_info(const ::onnx::ValueInfoProto& v) {
  ValueInfo info;
  info.name = v.name();
  if (v.has_type() && v.type().has_tensor_type()) {
    const auto& tt = v.type().tensor_type();
    if (tt.has_elem_type() && tt.elem_type() != 0) {
      info.dtype = dtype_from_onnx(tt.elem_type());
      info.has_dtype = true;
    }
    if (tt.has_shape()) {
      info.shape_known = true;
      for (const auto& d : tt.shape().dim()) {
        if (d.has_dim_value()) {
          FULGUR_CHECK(d.dim_value() >= 0, kOp, "value '", fulgur::printable(v.name()), "' has a negative dim ",
                       d.dim_value());
          info.shape.push_back(d.dim_value());
        } else {
          info.shape.push_back(-1);
        }
      }
    }
  }
  return info;
}

std::string node_label(const ::onnx::NodeProto& n, int index) {
  std::ostringstream ss;
  ss << fulgur::printable(n.op_type()) << " node ";
  if (!n.name().empty()) ss << "'" << fulgur::printable(n.name()) << "' ";
  ss << "#" << index;
  return ss.str();
}

}  // namespace

void SessionImpl::load(const std::string& bytes, const std::filesystem::path& base_dir) {
  model = std::make_unique<::onnx::ModelProto>();
  FULGUR_CHECK(bytes.size() < (size_t{1} << 31) && model->ParseFromString(bytes), kOp,
               "not a valid serialized onnx.ModelProto");
  FULGUR_CHECK(model->has_graph(), kOp, "the model has no graph");
  opset = -1;
  for (const auto& imp : model->opset_import()) {
    if (imp.domain().empty() || imp.domain() == "ai.onnx") opset = imp.version();
  }
  if (opset < 0 && model->opset_import_size() == 0 && model->ir_version() > 0 && model->ir_version() < 3) opset = 1;
  FULGUR_CHECK(opset >= 1, kOp, "the model declares no opset for the default ONNX domain");
  FULGUR_CHECK(opset <= kMaxOpset, kOp, "opset ", opset, " is newer than the newest supported (", kMaxOpset, ")");

  const auto& g = model->graph();
  std::set<std::string> known;
  for (const auto& init : g.initializer()) {
    FULGUR_CHECK(!init.name().empty(), kOp, "an initializer has no name");
    FULGUR_CHECK(!initializers.count(init.name()), kOp, "duplicate initializer '", fulgur::printable(init.name()), "'");
    initializers.emplace(init.name(), tensor_from_proto(init, base_dir));
    known.insert(init.name());
  }
  FULGUR_CHECK(g.sparse_initializer_size() == 0, kOp, "sparse initializers are not supported");
  for (const auto& in : g.input()) {
    FULGUR_CHECK(!in.name().empty(), kOp, "a graph input has no name");
    ValueInfo info = value_info(in);
    if (!initializers.count(in.name())) {
      FULGUR_CHECK(!known.count(in.name()), kOp, "duplicate graph input '", fulgur::printable(in.name()), "'");
      inputs.push_back(info);
    }
    known.insert(in.name());
  }
  for (const auto& out : g.output()) outputs.push_back(value_info(out));

  // Topological order (Kahn's algorithm over value names).
  const int n = g.node_size();
  std::vector<bool> done(static_cast<size_t>(n), false);
  const auto& registry = op_registry();
  for (int i = 0; i < n; ++i) {
    const auto& node = g.node(i);
    FULGUR_CHECK(node.domain().empty() || node.domain() == "ai.onnx", kOp, node_label(node, i), ": domain '",
                 fulgur::printable(node.domain()), "' is not supported");
    FULGUR_CHECK(registry.count(node.op_type()), kOp, "unsupported operator ", node_label(node, i),
                 " (opset ", opset, ")");
    FULGUR_CHECK(node.output_size() > 0, kOp, node_label(node, i), " has no outputs");
  }
  for (bool progress = true; progress && static_cast<int>(order.size()) < n;) {
    progress = false;
    for (int i = 0; i < n; ++i) {
      if (done[static_cast<size_t>(i)]) continue;
      const auto& node = g.node(i);
      bool ready = true;
      for (const auto& name : node.input()) {
        if (!name.empty() && !known.count(name)) ready = false;
      }
      if (!ready) continue;
      for (const auto& name : node.output()) {
        if (name.empty()) continue;
        FULGUR_CHECK(!known.count(name), kOp, node_label(node, i), " redefines value '", fulgur::printable(name), "'");
        known.insert(name);
      }
      done[static_cast<size_t>(i)] = true;
      order.push_back(i);
      progress = true;
    }
  }
  if (static_cast<int>(order.size()) < n) {
    for (int i = 0; i < n; ++i) {
      if (done[static_cast<size_t>(i)]) continue;
      for (const auto& name : g.node(i).input()) {
        FULGUR_CHECK(name.empty() || known.count(name), kOp, node_label(g.node(i), i), ": input '",
                     fulgur::printable(name), "' is not a graph input, an initializer or any node's output");
      }
    }
    FULGUR_FAIL(kOp, "the graph has a cycle");
  }
  for (const auto& out : outputs) {
    FULGUR_CHECK(known.count(out.name), kOp, "graph output '", fulgur::printable(out.name), "' is never produced");
  }
}

}  // namespace fulgur::onnx
