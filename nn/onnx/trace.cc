#include "fulgur/nn/onnx/trace.h"

#include "fulgur/kernels/error.h"

namespace fulgur::onnx {

Trace::Trace(const std::vector<Tensor>& inputs, const std::vector<std::pair<std::string, Tensor>>& params) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int id = add_value({TraceValue::Kind::Input, inputs[i], static_cast<int>(i), {}});
    traced_[&inputs[i].impl()] = id;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].second.defined() || traced_.count(&params[i].second.impl())) continue;
    const int id = add_value({TraceValue::Kind::Param, params[i].second, static_cast<int>(i), params[i].first});
    traced_[&params[i].second.impl()] = id;
  }
}

int Trace::add_value(TraceValue v) {
  keep_alive_.push_back(v.tensor);
  values_.push_back(std::move(v));
  return static_cast<int>(values_.size()) - 1;
}

bool Trace::is_traced(const Tensor& t) const { return t.defined() && traced_.count(&t.impl()) > 0; }

bool Trace::any_traced(const std::vector<Tensor>& inputs) const {
  for (const Tensor& t : inputs)
    if (is_traced(t)) return true;
  return false;
}

int Trace::input_value(const Tensor& t, const std::string& op) {
  if (!t.defined()) return -1;
  const TensorImpl* impl = &t.impl();
  if (auto it = stale_.find(impl); it != stale_.end()) {
    FULGUR_FAIL("onnx export", "'", op, "' reads a tensor whose storage was overwritten in place (by '", it->second,
                "' through another view of it) after it was computed; the trace cannot describe that; hint: use "
                "the out-of-place op (e.g. relu instead of relu_, inplace=false)");
  }
  if (auto it = traced_.find(impl); it != traced_.end()) return it->second;
  if (auto it = constants_.find(impl); it != constants_.end()) return it->second;
  // A view made without a traced op (detach(), a raw view inside an op) over a traced tensor:
  // the same value when it has the same geometry, else something the trace cannot describe.
  const TensorImpl* sharing = nullptr;
  for (const auto& [other, id] : traced_) {
    if (other->storage.get() != impl->storage.get()) continue;
    if (other->sizes == impl->sizes && other->strides == impl->strides &&
        other->storage_offset == impl->storage_offset && other->dtype == impl->dtype) {
      const int same = id;
      keep_alive_.push_back(t);
      traced_[impl] = same;
      return same;
    }
    sharing = other;
  }
  if (sharing) {
    FULGUR_FAIL("onnx export", "'", op, "' reads a view of a traced tensor that was made outside the traced ops "
                "(shape ", shape_str(t.sizes()), " over a tensor of shape ", shape_str(sharing->sizes),
                "); the exporter cannot describe it; hint: build it with reshape/permute/slice/expand");
  }
  // Not computed by traced ops from an input or a parameter: a constant of the model.
  keep_alive_.push_back(t);
  const int id = add_value({TraceValue::Kind::Constant, t.contiguous().clone(), -1, {}});
  constants_[impl] = id;
  return id;
}

void Trace::add_node(TraceNode node, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
                     const std::string& op) {
  for (const Tensor& t : inputs) node.inputs.push_back(input_value(t, op));
  const int index = static_cast<int>(nodes_.size());
  for (size_t j = 0; j < outputs.size(); ++j) {
    const int id = add_value({TraceValue::Kind::Node, outputs[j], index, {}});
    node.outputs.push_back(id);
    if (outputs[j].defined()) {
      traced_[&outputs[j].impl()] = id;
      stale_.erase(&outputs[j].impl());
    }
  }
  nodes_.push_back(std::move(node));
}

void Trace::on_op(OpId op, const std::vector<Tensor>& inputs, const OpAttrs& attrs,
                  const std::vector<Tensor>& outputs) {
  if (!any_traced(inputs)) return;  // constants only: the outputs become constants where read
  TraceNode node;
  node.op = op;
  node.attrs = attrs;
  add_node(std::move(node), inputs, outputs, "op " + std::to_string(static_cast<int>(op)));
}

void Trace::on_named_op(const std::string& name, const std::vector<Tensor>& inputs, const TraceAttrs& attrs,
                        const std::vector<Tensor>& outputs) {
  if (!any_traced(inputs)) return;
  TraceNode node;
  node.named = true;
  node.name = name;
  node.named_attrs = attrs;
  add_node(std::move(node), inputs, outputs, name);
}

void Trace::on_inplace(const Tensor& self, const Tensor& value) {
  const TensorImpl* impl = &self.impl();
  if (auto it = traced_.find(impl); it != traced_.end() && values_[it->second].kind == TraceValue::Kind::Param) {
    FULGUR_FAIL("onnx export", "forward modifies the parameter or buffer '", values_[it->second].name,
                "' in place (e.g. batch norm's running statistics in training mode, embedding's max_norm); an "
                "ONNX graph cannot update its initializers; hint: export in eval mode, without max_norm");
  }
  // Other tensors over the same storage (views, the view's base) now hold other data.
  const StorageImpl* storage = self.impl().storage.get();
  for (auto it = traced_.begin(); it != traced_.end();) {
    if (it->first != impl && it->first->storage.get() == storage &&
        values_[it->second].kind != TraceValue::Kind::Param) {
      stale_[it->first] = "in-place op";
      it = traced_.erase(it);
    } else {
      ++it;
    }
  }
  constants_.erase(impl);
  keep_alive_.push_back(self);
  if (is_traced(value)) {
    traced_[impl] = traced_.at(&value.impl());
  } else {
    traced_.erase(impl);  // overwritten with constants: a constant where read next
  }
  stale_.erase(impl);
}

int Trace::output_value(const Tensor& t) {
  FULGUR_CHECK(t.defined(), "onnx export", "forward returned an undefined tensor");
  return input_value(t, "output");
}

}  // namespace fulgur::onnx
