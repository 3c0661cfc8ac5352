// The exporter's driver: traces the forward (once, then once more per dynamic axis with that
// axis one larger, to learn which sizes follow it), checks that the passes agree, and builds
// the ONNX graph from the sample pass (export_ops.cc maps each op).
#include "fulgur/nn/onnx/export.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <set>

#include "fulgur/autograd/autograd.h"
#include "fulgur/kernels/error.h"
#include "fulgur/nn/onnx/export_ops.h"
#include "fulgur/nn/onnx/trace.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

constexpr const char* kOp = "onnx export";
using Params = std::vector<std::pair<std::string, Tensor>>;

struct Pass {
  std::unique_ptr<Trace> trace;
  std::vector<int> outputs;  // value ids of the forward's outputs
};

Pass run_pass(const TracedFunction& fn, const Params& params, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> ins;
  for (const Tensor& x : inputs) ins.push_back(x.clone());  // distinct tensors, owned by the trace
  Pass p;
  p.trace = std::make_unique<Trace>(ins, params);
  std::vector<Tensor> outs;
  {
    TraceRecorderGuard on(p.trace.get());
    outs = fn(ins);
  }
  FULGUR_CHECK(!outs.empty(), kOp, "forward returned no tensors");
  for (const Tensor& t : outs) p.outputs.push_back(p.trace->output_value(t));
  return p;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.sizes() != b.sizes()) return false;
  const Tensor ca = a.to(kCPU).contiguous(), cb = b.to(kCPU).contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.numel()) * ca.element_size()) == 0;
}

// The first node reading value v (for messages).
std::string reader_of(const Trace& t, int v) {
  for (const TraceNode& n : t.nodes())
    for (int i : n.inputs)
      if (i == v) return op_name(n);
  return "output";
}

// A pass with a dynamic axis grown must run the same ops on the same values, with the same
// constants: otherwise the sample pass does not describe the model for other sizes.
void check_same_structure(const Pass& a, const Pass& b, const std::string& axis) {
  const auto &na = a.trace->nodes(), &nb = b.trace->nodes();
  const std::string hint = "make forward's ops independent of the size of '" + axis +
                           "', or leave that axis out of dynamic_axes";
  for (size_t i = 0; i < std::min(na.size(), nb.size()); ++i) {
    const bool same = na[i].named == nb[i].named && na[i].op == nb[i].op && na[i].name == nb[i].name &&
                      na[i].inputs == nb[i].inputs && na[i].outputs == nb[i].outputs;
    FULGUR_CHECK(same, kOp, "forward runs different ops when the dynamic axis '", axis, "' changes size (op ", i,
                 ": '", op_name(na[i]), "' vs '", op_name(nb[i]), "'); hint: ", hint);
  }
  FULGUR_CHECK(na.size() == nb.size() && a.trace->values().size() == b.trace->values().size(), kOp,
               "forward runs ", na.size(), " ops, but ", nb.size(), " when the dynamic axis '", axis,
               "' changes size; hint: ", hint);
  FULGUR_CHECK(a.outputs == b.outputs, kOp, "forward's outputs change when the dynamic axis '", axis,
               "' changes size; hint: ", hint);
  const auto &va = a.trace->values(), &vb = b.trace->values();
  for (size_t v = 0; v < va.size(); ++v) {
    if (va[v].kind != TraceValue::Kind::Constant) continue;
    FULGUR_CHECK(same_bytes(va[v].tensor, vb[v].tensor), kOp, "a tensor read by '",
                 reader_of(*a.trace, static_cast<int>(v)), "' (shape ", shape_str(va[v].tensor.sizes()),
                 ") changes with the dynamic axis '", axis, "' but is not computed by traced ops: it comes from an "
                 "op the exporter does not see (sort, topk, nonzero, item(), a size read from the input, ...) and "
                 "would be a constant in the model; hint: ", hint);
  }
}

void fill_tensor_proto(::onnx::TensorProto& p, const Tensor& t, const std::string& name) {
  const Tensor c = t.to(kCPU).contiguous();
  p.set_name(name);
  p.set_data_type(onnx_dtype(c.dtype()));
  for (int64_t d : c.sizes()) p.add_dims(d);
  const size_t bytes = static_cast<size_t>(c.numel()) * c.element_size();
  p.set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), bytes));
}

void set_value_info(::onnx::ValueInfoProto& vi, const std::string& name, const Tensor& t,
                    const std::vector<std::string>& dim_names) {
  vi.set_name(name);
  auto* tt = vi.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_dtype(t.dtype()));
  auto* shape = tt->mutable_shape();
  for (int64_t d = 0; d < t.dim(); ++d) {
    auto* dim = shape->add_dim();
    if (static_cast<size_t>(d) < dim_names.size() && !dim_names[d].empty()) {
      dim->set_dim_param(dim_names[d]);
    } else {
      dim->set_dim_value(t.size(d));
    }
  }
}

class Builder final : public GraphBuilder {
 public:
  // Where each dynamic axis can be read at run time: a graph input, its axis, the sample size.
  struct Symbol {
    std::string input;
    int64_t axis = 0;
    int64_t size = 0;
  };

  Builder(const Pass& base, const std::vector<Pass>& variants, std::vector<Symbol> symbols, int64_t opset,
          ::onnx::GraphProto& graph)
      : base_(base), variants_(variants), symbols_(std::move(symbols)), opset_(opset), graph_(graph),
        names_(base.trace->values().size()), symbol_values_(symbols_.size()) {}

  int64_t symbol_size(size_t k) const override { return symbols_.at(k).size; }
  std::string symbol_value(size_t k) override {
    std::string& v = symbol_values_.at(k);
    if (v.empty()) {
      const std::string shape = fresh("Shape");
      add_node("Shape", {symbols_[k].input}, {shape});
      v = fresh("Gather");
      add_node("Gather", {shape, int64s({symbols_[k].axis})}, {v});
    }
    return v;
  }

  int64_t opset() const override { return opset_; }
  std::string name(int v) const override { return v < 0 ? std::string() : names_.at(static_cast<size_t>(v)); }
  const Tensor& tensor(int v) const override { return base_.trace->values().at(static_cast<size_t>(v)).tensor; }
  std::vector<const Tensor*> variant_tensors(int v) const override {
    std::vector<const Tensor*> r;
    for (const Pass& p : variants_) r.push_back(&p.trace->values().at(static_cast<size_t>(v)).tensor);
    return r;
  }
  ::onnx::NodeProto& add_node(const std::string& type, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& outputs) override {
    ::onnx::NodeProto* n = graph_.add_node();
    n->set_op_type(type);
    n->set_name("/" + type + "_" + std::to_string(graph_.node_size() - 1));
    for (const std::string& i : inputs) n->add_input(i);
    for (const std::string& o : outputs) n->add_output(o);
    return *n;
  }
  std::string fresh(const std::string& hint) override { return "/" + hint + "_tmp_" + std::to_string(counter_++); }
  std::string int64s(const std::vector<int64_t>& values) override {
    return constant(from_vector(values, Shape{static_cast<int64_t>(values.size())}));
  }
  std::string constant(const Tensor& t) override {
    const std::string n = "/const_" + std::to_string(counter_++);
    fill_tensor_proto(*graph_.add_initializer(), t, n);
    return n;
  }
  bool used(int v) const override { return needed_.count(v) > 0; }

  void set_name(int v, std::string n) { names_.at(static_cast<size_t>(v)) = std::move(n); }
  std::set<int>& needed() { return needed_; }

 private:
  const Pass& base_;
  const std::vector<Pass>& variants_;
  std::vector<Symbol> symbols_;
  int64_t opset_;
  ::onnx::GraphProto& graph_;
  std::vector<std::string> names_;
  std::set<int> needed_;
  std::vector<std::string> symbol_values_;
  int counter_ = 0;
};

std::string sanitize_hint(const std::string& s) {
  std::string r;
  for (char c : s) r += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return r;
}

// Restores every module's train/eval mode (pre-order, so that each train() call, which also
// sets the descendants, is corrected by the calls after it).
class ModeRestorer {
 public:
  explicit ModeRestorer(nn::Module& m) {
    for (auto& [name, mod] : m.named_modules()) modes_.emplace_back(mod, mod->is_training());
  }
  ~ModeRestorer() {
    for (auto& [mod, training] : modes_) mod->train(training);
  }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

 private:
  std::vector<std::pair<std::shared_ptr<nn::Module>, bool>> modes_;
};

}  // namespace

::onnx::ModelProto export_function_proto(const TracedFunction& fn, const Params& params,
                                         const std::vector<Tensor>& sample_inputs, const ExportOptions& options) {
  FULGUR_CHECK(options.opset_version >= 13 && options.opset_version <= 17, kOp, "opset_version ",
               options.opset_version, " is not supported (13 to 17); hint: use the default, 17");
  FULGUR_CHECK(!sample_inputs.empty(), kOp, "no sample inputs; hint: pass one tensor per forward input");
  for (const Tensor& x : sample_inputs) FULGUR_CHECK(x.defined(), kOp, "a sample input is undefined");
  FULGUR_CHECK(options.input_names.size() <= sample_inputs.size(), kOp, options.input_names.size(),
               " input names for ", sample_inputs.size(), " inputs");
  std::vector<std::string> input_names;
  for (size_t i = 0; i < sample_inputs.size(); ++i)
    input_names.push_back(i < options.input_names.size() ? options.input_names[i] : "input_" + std::to_string(i));

  // Dynamic axes of the inputs: {input index -> {axis -> symbol}}; symbols in first-seen order.
  std::vector<std::map<int64_t, std::string>> in_axes(sample_inputs.size());
  std::map<std::string, std::map<int64_t, std::string>> out_axes_by_name;
  if (!options.dynamic_axes) {
    for (size_t i = 0; i < sample_inputs.size(); ++i)
      if (sample_inputs[i].dim() >= 1) in_axes[i][0] = "batch";
  } else {
    for (const auto& [who, axes] : *options.dynamic_axes) {
      auto it = std::find(input_names.begin(), input_names.end(), who);
      if (it == input_names.end()) {
        out_axes_by_name[who] = axes;  // checked against the output names below
        continue;
      }
      const size_t i = static_cast<size_t>(it - input_names.begin());
      for (const auto& [axis, sym] : axes) {
        const int64_t rank = sample_inputs[i].dim();
        FULGUR_CHECK(axis >= -rank && axis < rank, kOp, "dynamic axis ", axis, " of input '", who,
                     "' is out of range for its shape ",
                     shape_str(sample_inputs[i].sizes()));
        FULGUR_CHECK(!sym.empty(), kOp, "dynamic axis ", axis, " of input '", who, "' has an empty name");
        in_axes[i][axis < 0 ? axis + rank : axis] = sym;
      }
    }
  }
  std::vector<std::string> symbols;
  for (const auto& axes : in_axes)
    for (const auto& [axis, sym] : axes)
      if (std::find(symbols.begin(), symbols.end(), sym) == symbols.end()) symbols.push_back(sym);

  // Each dynamic axis's size in the sample; one name is one size (ONNX's dim_param says so).
  std::vector<int64_t> symbol_sizes;
  for (const std::string& sym : symbols) {
    int64_t size = -1;
    for (size_t i = 0; i < in_axes.size(); ++i) {
      for (const auto& [axis, s] : in_axes[i]) {
        if (s != sym) continue;
        const int64_t here = sample_inputs[i].size(axis);
        FULGUR_CHECK(size < 0 || here == size, kOp, "the dynamic axis '", sym, "' has size ", size,
                     " in one input and ", here, " in input '", input_names[i], "'; hint: one name per size: give "
                     "the axes different names");
        size = here;
      }
    }
    symbol_sizes.push_back(size);
  }

  GradModeGuard no_grad(false);
  const Pass base = run_pass(fn, params, sample_inputs);
  std::vector<Pass> variants;
  for (const std::string& sym : symbols) {
    std::vector<Tensor> grown;
    for (size_t i = 0; i < sample_inputs.size(); ++i) {
      Tensor x = sample_inputs[i];
      for (const auto& [axis, s] : in_axes[i]) {
        if (s != sym) continue;
        FULGUR_CHECK(x.size(axis) > 0, kOp, "dynamic axis ", axis, " of input '", input_names[i],
                     "' has size 0 in the sample; hint: give a sample with at least one element along it");
        x = cat({x, x.narrow(axis, 0, 1)}, axis);  // one larger, repeating the first entry
      }
      grown.push_back(x);
    }
    variants.push_back(run_pass(fn, params, grown));
    check_same_structure(base, variants.back(), sym);
  }

  const Trace& trace = *base.trace;
  const auto& values = trace.values();
  const auto& nodes = trace.nodes();
  const size_t num_outputs = base.outputs.size();
  FULGUR_CHECK(options.output_names.size() <= num_outputs, kOp, options.output_names.size(), " output names for ",
               num_outputs, " outputs");
  std::vector<std::string> output_names;
  for (size_t j = 0; j < num_outputs; ++j)
    output_names.push_back(j < options.output_names.size() ? options.output_names[j] : "output_" + std::to_string(j));
  for (const auto& [who, axes] : out_axes_by_name)
    FULGUR_CHECK(std::find(output_names.begin(), output_names.end(), who) != output_names.end(), kOp,
                 "dynamic_axes names '", who, "', which is neither an input nor an output name");

  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name(options.producer_name);
  model.set_producer_version("1");
  if (!options.doc_string.empty()) model.set_doc_string(options.doc_string);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset_version);
  ::onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(options.graph_name);
  std::vector<Builder::Symbol> symbol_info;
  for (size_t k = 0; k < symbols.size(); ++k) {
    Builder::Symbol info;
    for (size_t i = 0; i < in_axes.size() && info.input.empty(); ++i)
      for (const auto& [axis, sym] : in_axes[i])
        if (sym == symbols[k] && info.input.empty()) info = {input_names[i], axis, symbol_sizes[k]};
    symbol_info.push_back(info);
  }
  Builder b(base, variants, symbol_info, options.opset_version, graph);

  // Which nodes the outputs need (ops whose results are never read, such as a size check's
  // min/max, are dropped).
  std::set<int>& needed = b.needed();
  for (int v : base.outputs) needed.insert(v);
  std::vector<bool> emit(nodes.size(), false);
  for (size_t i = nodes.size(); i-- > 0;) {
    for (int o : nodes[i].outputs) emit[i] = emit[i] || needed.count(o);
    if (emit[i])
      for (int v : nodes[i].inputs)
        if (v >= 0) needed.insert(v);
  }

  // Names: inputs, parameters (state_dict names), constants, node outputs; an output produced
  // by a node takes the output's name.
  std::set<std::string> taken;
  auto claim = [&](const std::string& n, const char* what) {
    FULGUR_CHECK(taken.insert(n).second, kOp, "the name '", n, "' (", what, ") is used twice; hint: choose other ",
                 "input/output names");
  };
  for (const std::string& n : input_names) claim(n, "input");
  for (size_t v = 0; v < values.size(); ++v) {
    const TraceValue& tv = values[v];
    switch (tv.kind) {
      case TraceValue::Kind::Input: b.set_name(static_cast<int>(v), input_names[static_cast<size_t>(tv.index)]); break;
      case TraceValue::Kind::Param:
        b.set_name(static_cast<int>(v), tv.name);
        if (needed.count(static_cast<int>(v))) claim(tv.name, "parameter");
        break;
      case TraceValue::Kind::Constant: b.set_name(static_cast<int>(v), "/constant_" + std::to_string(v)); break;
      case TraceValue::Kind::Node: {
        const TraceNode& n = nodes[static_cast<size_t>(tv.index)];
        b.set_name(static_cast<int>(v), "/" + sanitize_hint(op_name(n)) + "_" + std::to_string(tv.index) + "_out_" +
                                            std::to_string(v));
        break;
      }
    }
  }
  std::vector<bool> renamed(num_outputs, false);
  std::set<int> output_values;
  for (size_t j = 0; j < num_outputs; ++j) {
    claim(output_names[j], "output");
    const int v = base.outputs[j];
    if (values[static_cast<size_t>(v)].kind == TraceValue::Kind::Node && output_values.insert(v).second) {
      b.set_name(v, output_names[j]);
      renamed[j] = true;
    }
  }

  // Ops that change nothing (a reshape to the same shape, clone, a device move) are not
  // emitted: their result takes their input's name (unless it is a graph output).
  for (size_t i = 0; i < nodes.size(); ++i) {
    const TraceNode& n = nodes[i];
    if (!emit[i] || n.named || n.outputs.size() != 1 || n.inputs.empty() || output_values.count(n.outputs[0])) continue;
    bool noop = n.op == OpId::Clone || n.op == OpId::ToDevice;
    if (n.op == OpId::Reshape || n.op == OpId::Expand) {
      const auto in = static_cast<size_t>(n.inputs[0]), out = static_cast<size_t>(n.outputs[0]);
      noop = values[in].tensor.sizes() == values[out].tensor.sizes();
      for (const Pass& p : variants) {
        const auto& pv = p.trace->values();
        noop = noop && pv[in].tensor.sizes() == pv[out].tensor.sizes();
      }
    }
    if (n.op == OpId::Permute) {
      noop = true;
      for (size_t d = 0; d < n.attrs.dims.size(); ++d) noop = noop && n.attrs.dims[d] == static_cast<int64_t>(d);
    }
    if (!noop) continue;
    b.set_name(n.outputs[0], b.name(n.inputs[0]));
    emit[i] = false;
  }

  // Graph inputs (then parameters when not exported as initializers), initializers.
  for (size_t i = 0; i < sample_inputs.size(); ++i) {
    std::vector<std::string> dims(static_cast<size_t>(sample_inputs[i].dim()));
    for (const auto& [axis, sym] : in_axes[i]) dims[static_cast<size_t>(axis)] = sym;
    set_value_info(*graph.add_input(), input_names[i], sample_inputs[i], dims);
  }
  for (size_t v = 0; v < values.size(); ++v) {
    if (!needed.count(static_cast<int>(v))) continue;
    const TraceValue& tv = values[v];
    if (tv.kind == TraceValue::Kind::Param && !options.export_params) {
      set_value_info(*graph.add_input(), tv.name, tv.tensor, {});
    } else if (tv.kind == TraceValue::Kind::Param || tv.kind == TraceValue::Kind::Constant) {
      fill_tensor_proto(*graph.add_initializer(), tv.tensor, b.name(static_cast<int>(v)));
    }
  }

  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!emit[i]) continue;
    ExportNode en{&nodes[i], {}};
    for (const Pass& p : variants) en.variants.push_back(&p.trace->nodes()[i]);
    emit_node(b, en);
  }

  for (size_t j = 0; j < num_outputs; ++j) {
    const int v = base.outputs[j];
    if (!renamed[j]) b.add_node("Identity", {b.name(v)}, {output_names[j]});
    const Tensor& t = values[static_cast<size_t>(v)].tensor;
    std::vector<std::string> dims(static_cast<size_t>(t.dim()));
    for (int64_t d = 0; d < t.dim(); ++d) {
      for (size_t k = 0; k < variants.size() && dims[d].empty(); ++k) {
        const Tensor& tk = variants[k].trace->values()[static_cast<size_t>(v)].tensor;
        if (tk.size(d) == t.size(d)) continue;
        // The axis's own name when the dim is that axis (same size in both passes), else a
        // name of its own (e.g. seq - 1 after a slice).
        const bool same = t.size(d) == symbol_sizes[k] && tk.size(d) == symbol_sizes[k] + 1;
        dims[d] = same ? symbols[k] : output_names[j] + "_dim_" + std::to_string(d);
      }
    }
    if (auto it = out_axes_by_name.find(output_names[j]); it != out_axes_by_name.end()) {
      for (const auto& [axis, sym] : it->second) {
        FULGUR_CHECK(axis >= -t.dim() && axis < t.dim(), kOp, "dynamic axis ", axis, " of output '", output_names[j],
                     "' is out of range for its shape ", shape_str(t.sizes()));
        dims[static_cast<size_t>(axis < 0 ? axis + t.dim() : axis)] = sym;
      }
    }
    set_value_info(*graph.add_output(), output_names[j], t, dims);
  }
  return model;
}

void save_model(const ::onnx::ModelProto& model, const std::string& path) {
  std::string bytes;
  FULGUR_CHECK(model.SerializeToString(&bytes), kOp, "'", path, "': the model could not be serialized (over 2 GiB?)");
  serialize::write_file_atomic(path, bytes, kOp);
}

void export_function(const TracedFunction& fn, const Params& params, const std::string& path,
                     const std::vector<Tensor>& sample_inputs, const ExportOptions& options) {
  save_model(export_function_proto(fn, params, sample_inputs, options), path);
}

::onnx::ModelProto export_model_proto(nn::Module& module, const Tensor& sample_input, const ExportOptions& options) {
  ModeRestorer restore(module);
  module.eval();
  Params params = module.named_parameters();
  for (auto& nb : module.named_buffers()) params.push_back(nb);
  return export_function_proto([&](const std::vector<Tensor>& x) { return std::vector<Tensor>{module.forward(x[0])}; },
                               params, {sample_input}, options);
}

void export_model(nn::Module& module, const std::string& path, const Tensor& sample_input, const ExportOptions& options) {
  save_model(export_model_proto(module, sample_input, options), path);
}

}  // namespace fulgur::onnx
