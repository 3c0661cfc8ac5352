// Running an ONNX graph: inputs checked against the declared types, nodes executed in
// topological order through the operator registry, intermediate values dropped when no
// later node reads them.
#include "fulgur/nn/onnx/session.h"

#include <fstream>
#include <set>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/nn/onnx/model_impl.h"
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/nn/onnx/tensor_proto.h"

namespace fulgur::onnx {
namespace {

constexpr const char* kOp = "onnx::InferenceSession::run";

void check_input(const ValueInfo& info, const Tensor& t) {
  FULGUR_CHECK(t.defined(), kOp, "input '", fulgur::printable(info.name), "' is undefined");
  FULGUR_CHECK(t.device() == kCPU, kOp, "input '", fulgur::printable(info.name), "' must be a CPU tensor");
  if (info.has_dtype) {
    FULGUR_CHECK(t.dtype() == info.dtype, kOp, "input '", fulgur::printable(info.name), "' must be ", info.dtype,
                 ", got ", t.dtype());
  }
  if (info.shape_known) {
    FULGUR_CHECK(t.dim() == static_cast<int64_t>(info.shape.size()), kOp, "input '", fulgur::printable(info.name),
                 "' must have rank ", info.shape.size(), ", got ", t.dim());
    for (size_t i = 0; i < info.shape.size(); ++i) {
      FULGUR_CHECK(info.shape[i] < 0 || info.shape[i] == t.size(static_cast<int64_t>(i)), kOp, "input '",
                   fulgur::printable(info.name), "' dim ", i, " must be ", info.shape[i], ", got ",
                   t.size(static_cast<int64_t>(i)));
    }
  }
}

}  // namespace

InferenceSession::InferenceSession() = default;
InferenceSession::~InferenceSession() = default;
InferenceSession::InferenceSession(InferenceSession&&) noexcept = default;
InferenceSession& InferenceSession::operator=(InferenceSession&&) noexcept = default;

InferenceSession::InferenceSession(const std::filesystem::path& path) : impl_(std::make_unique<SessionImpl>()) {
  std::ifstream in(path, std::ios::binary);
  FULGUR_CHECK(in.good(), "onnx::InferenceSession", "cannot open ", fulgur::printable(path.string(), kMaxPathInMessage));
  std::ostringstream ss;
  ss << in.rdbuf();
  FULGUR_CHECK(!in.bad(), "onnx::InferenceSession", "cannot read ", fulgur::printable(path.string()));
  impl_->load(ss.str(), path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

InferenceSession InferenceSession::from_bytes(const std::string& bytes, const std::filesystem::path& base_dir) {
  InferenceSession s;
  s.impl_ = std::make_unique<SessionImpl>();
  s.impl_->load(bytes, base_dir);
  return s;
}

const std::vector<ValueInfo>& InferenceSession::inputs() const { return impl_->inputs; }
const std::vector<ValueInfo>& InferenceSession::outputs() const { return impl_->outputs; }
int64_t InferenceSession::opset() const { return impl_->opset; }
const std::map<std::string, Tensor>& InferenceSession::initializers() const { return impl_->initializers; }

std::vector<Tensor> InferenceSession::run(const std::vector<Tensor>& inputs) const {
  FULGUR_CHECK(inputs.size() == impl_->inputs.size(), kOp, "the model takes ", impl_->inputs.size(),
               " inputs, got ", inputs.size());
  std::map<std::string, Tensor> named;
  for (size_t i = 0; i < inputs.size(); ++i) named[impl_->inputs[i].name] = inputs[i];
  return run(named);
}

std::vector<Tensor> InferenceSession::run(const std::map<std::string, Tensor>& inputs) const {
  std::vector<std::string> names;
  for (const auto& o : impl_->outputs) names.push_back(o.name);
  return run(inputs, names);
}

std::vector<Tensor> InferenceSession::run(const std::map<std::string, Tensor>& inputs,
                                          const std::vector<std::string>& output_names) const {
  const auto& g = impl_->model->graph();
  std::map<std::string, Tensor> values = impl_->initializers;
  for (const auto& info : impl_->inputs) {
    auto it = inputs.find(info.name);
    FULGUR_CHECK(it != inputs.end(), kOp, "missing input '", fulgur::printable(info.name), "'");
    check_input(info, it->second);
    values[info.name] = it->second.contiguous();
  }
  for (const auto& [name, t] : inputs) {
    bool found = false;
    for (const auto& info : impl_->inputs) found = found || info.name == name;
    FULGUR_CHECK(found, kOp, "the model has no input '", fulgur::printable(name), "'");
  }
  // Last reader of each value, to free intermediates early.
  std::map<std::string, size_t> last_use;
  for (size_t k = 0; k < impl_->order.size(); ++k) {
    for (const auto& name : g.node(impl_->order[k]).input()) last_use[name] = k;
  }
  std::set<std::string> keep(output_names.begin(), output_names.end());
  const auto& registry = op_registry();
  for (size_t k = 0; k < impl_->order.size(); ++k) {
    const auto& node = g.node(impl_->order[k]);
    std::vector<Tensor> args;
    for (const auto& name : node.input()) args.push_back(name.empty() ? Tensor() : values.at(name));
    const OpContext ctx(node, impl_->opset, std::move(args));
    std::vector<Tensor> results;
    try {
      results = registry.at(node.op_type())(ctx);
    } catch (const fulgur::Error& e) {
      const std::string what = e.what();
      if (what.find(ctx.where()) != std::string::npos) throw;
      FULGUR_FAIL("onnx", ctx.where(), ": ", what);
    }
    FULGUR_CHECK(results.size() >= static_cast<size_t>(node.output_size()), "onnx", ctx.where(), ": produced ", results.size(), " outputs, the node has ", node.output_size());
    for (int i = 0; i < node.output_size(); ++i) {
      if (!node.output(i).empty()) values[node.output(i)] = results[static_cast<size_t>(i)];
    }
    for (const auto& name : node.input()) {
      auto it = last_use.find(name);
      if (it != last_use.end() && it->second == k && !keep.count(name) && !impl_->initializers.count(name)) {
        values.erase(name);
      }
    }
  }
  std::vector<Tensor> out;
  for (const auto& name : output_names) {
    auto it = values.find(name);
    FULGUR_CHECK(it != values.end(), kOp, "no value named '", fulgur::printable(name), "'");
    out.push_back(it->second);
  }
  return out;
}

}  // namespace fulgur::onnx
