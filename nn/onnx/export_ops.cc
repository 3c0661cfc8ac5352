// Traced op -> ONNX nodes (default domain, opset 13 to 17 semantics: axes of ReduceSum,
// Squeeze and Slice are inputs, ReduceMax/Min/Prod keep theirs as attributes).
#include <cmath>
#include <limits>
#include <map>
#include <numbers>

#include "fulgur/kernels/error.h"
#include "fulgur/nn/onnx/export_ops.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {

int32_t onnx_dtype(DType dtype) {
  using TP = ::onnx::TensorProto;
  switch (dtype) {
    case DType::Float32: return TP::FLOAT;
    case DType::Float64: return TP::DOUBLE;
    case DType::Float16: return TP::FLOAT16;
    case DType::BFloat16: return TP::BFLOAT16;
    case DType::Int64: return TP::INT64;
    case DType::Int32: return TP::INT32;
    case DType::Int16: return TP::INT16;
    case DType::Int8: return TP::INT8;
    case DType::UInt8: return TP::UINT8;
    case DType::Bool: return TP::BOOL;
  }
  FULGUR_FAIL("onnx export", "dtype ", dtype, " has no ONNX element type");
}

bool GraphBuilder::varies(int value, int64_t d) const {
  const Tensor& t = tensor(value);
  for (const Tensor* v : variant_tensors(value))
    if (v->dim() != t.dim() || v->size(d) != t.size(d)) return true;
  return false;
}

void GraphBuilder::refuse(const std::string& op, const std::string& what, const std::string& hint) const {
  if (hint.empty()) FULGUR_FAIL("onnx export", "'", op, "': ", what);
  FULGUR_FAIL("onnx export", "'", op, "': ", what, "; hint: ", hint);
}

void add_attr(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void add_attr(::onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void add_attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void add_attr(::onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

std::string op_name(const TraceNode& n) {
  if (n.named) return n.name;
  switch (n.op) {
    case OpId::Neg: return "neg";
    case OpId::Abs: return "abs";
    case OpId::Exp: return "exp";
    case OpId::Log: return "log";
    case OpId::Log1p: return "log1p";
    case OpId::Sqrt: return "sqrt";
    case OpId::Rsqrt: return "rsqrt";
    case OpId::Sin: return "sin";
    case OpId::Cos: return "cos";
    case OpId::Tanh: return "tanh";
    case OpId::Sigmoid: return "sigmoid";
    case OpId::Relu: return "relu";
    case OpId::Erf: return "erf";
    case OpId::Gelu: return "gelu";
    case OpId::Silu: return "silu";
    case OpId::Square: return "square";
    case OpId::Reciprocal: return "reciprocal";
    case OpId::Add: return "add";
    case OpId::Sub: return "sub";
    case OpId::Mul: return "mul";
    case OpId::Div: return "div";
    case OpId::Pow: return "pow";
    case OpId::Minimum: return "minimum";
    case OpId::Maximum: return "maximum";
    case OpId::Where: return "where";
    case OpId::Clamp: return "clamp";
    case OpId::Sum: return "sum";
    case OpId::Prod: return "prod";
    case OpId::AMax: return "amax";
    case OpId::AMin: return "amin";
    case OpId::MaxDim: return "max(dim)";
    case OpId::MinDim: return "min(dim)";
    case OpId::Reshape: return "reshape";
    case OpId::Expand: return "expand";
    case OpId::Permute: return "permute";
    case OpId::Slice: return "slice";
    case OpId::SliceScatter: return "slice_scatter";
    case OpId::ToDtype: return "to(dtype)";
    case OpId::ToDevice: return "to(device)";
    case OpId::Clone: return "clone";
    case OpId::Matmul: return "matmul";
    case OpId::Linear: return "linear";
    case OpId::Gather: return "gather";
    case OpId::Scatter: return "scatter";
    case OpId::ScatterAdd: return "scatter_add";
    case OpId::Cat: return "cat";
    case OpId::Im2col: return "im2col (unfold)";
    case OpId::Col2im: return "col2im (fold)";
    case OpId::MaxPool: return "max_pool_with_indices";
    case OpId::Softmax: return "softmax";
    case OpId::LogSoftmax: return "log_softmax";
    case OpId::AsStrided: return "as_strided (an in-place op on a view)";
    case OpId::AsStridedScatter: return "as_strided_scatter (an in-place op on a view)";
    case OpId::NllLoss: return "nll_loss";
    case OpId::CrossEntropy: return "cross_entropy";
    case OpId::LayerNorm: return "layer_norm (fused)";
    case OpId::Conv: return "conv (fused)";
    case OpId::BatchNorm: return "batch_norm (fused)";
    case OpId::Fill: return "fill_";
  }
  return "op";
}

namespace {

const TraceAttr* find_attr(const TraceNode& n, const std::string& name) {
  for (const TraceAttr& a : n.named_attrs)
    if (a.name == name) return &a;
  return nullptr;
}
Shape ints_attr(const TraceNode& n, const std::string& name) {
  const TraceAttr* a = find_attr(n, name);
  FULGUR_CHECK(a && std::holds_alternative<Shape>(a->value), "onnx export", "internal: '", n.name,
               "' lacks attribute ", name);
  return std::get<Shape>(a->value);
}
int64_t int_attr(const TraceNode& n, const std::string& name, int64_t def) {
  const TraceAttr* a = find_attr(n, name);
  return a ? std::get<int64_t>(a->value) : def;
}
double float_attr(const TraceNode& n, const std::string& name, double def) {
  const TraceAttr* a = find_attr(n, name);
  return a ? std::get<double>(a->value) : def;
}

// A 0-dim constant of the dtype of `like`.
Tensor scalar_like(double v, const Tensor& like) { return full({}, v, {.dtype = like.dtype()}); }

class Emitter {
 public:
  Emitter(GraphBuilder& g, const ExportNode& en) : g_(g), en_(en), n_(*en.node) {}

  std::string in(size_t i) const { return i < n_.inputs.size() ? g_.name(n_.inputs[i]) : std::string(); }
  const Tensor& in_t(size_t i) const { return g_.tensor(n_.inputs[i]); }
  std::string out(size_t j = 0) const { return g_.name(n_.outputs[j]); }
  const Tensor& out_t(size_t j = 0) const { return g_.tensor(n_.outputs[j]); }
  ::onnx::NodeProto& node(const std::string& type, const std::vector<std::string>& ins,
                          const std::vector<std::string>& outs) {
    return g_.add_node(type, ins, outs);
  }
  // A one-output node into a fresh intermediate.
  std::string tmp(const std::string& type, const std::vector<std::string>& ins) {
    const std::string t = g_.fresh(type);
    node(type, ins, {t});
    return t;
  }
  std::string scalar(double v, const Tensor& like) { return g_.constant(scalar_like(v, like)); }
  [[noreturn]] void refuse(const std::string& what, const std::string& hint = "") const {
    g_.refuse(op_name(n_), what, hint);
  }
  // Every attribute of a named op must be the same in all passes (none may follow a dynamic axis).
  void require_static_attrs() const {
    for (const TraceNode* v : en_.variants) {
      if (v->named_attrs.size() != n_.named_attrs.size()) refuse("its attributes change with a dynamic axis");
      for (size_t i = 0; i < n_.named_attrs.size(); ++i)
        if (v->named_attrs[i].value != n_.named_attrs[i].value)
          refuse("its attribute '" + n_.named_attrs[i].name + "' changes with a dynamic axis",
                 "drop that axis from dynamic_axes");
    }
  }

  void emit();

 private:
  void unary(const std::string& type) { node(type, {in(0)}, {out()}); }
  void binary(const std::string& type) { node(type, {in(0), in(1)}, {out()}); }
  void reshape();
  void expand();
  void slice();
  void reduce();
  void named();
  void pool(bool max);
  void batch_norm();
  void layer_norm();
  // Input i, or `fill` of `shape` (and x's dtype) when absent; cast to x's dtype.
  std::string param_or(size_t i, double fill, const Shape& shape);

  GraphBuilder& g_;
  const ExportNode& en_;
  const TraceNode& n_;
};

void Emitter::reshape() {
  const int x = n_.inputs[0], y = n_.outputs[0];
  const Tensor &xt = in_t(0), &yt = out_t();
  std::vector<int64_t> shape(yt.sizes().begin(), yt.sizes().end());
  int inferred = -1;
  bool several = false;  // more than one dim moves: the target is computed from Shape(x)
  for (int64_t d = 0; d < yt.dim(); ++d) {
    if (!g_.varies(y, d)) {
      if (shape[d] == 0) refuse("zero-size dims are not exported (0 means 'copy' in ONNX Reshape)");
      continue;
    }
    // A dim that follows a dynamic axis: copied from the input when it stays in place (0),
    // else the one inferred dim (-1).
    bool same = d < xt.dim() && g_.varies(x, d) && xt.size(d) == yt.size(d);
    const auto xv = g_.variant_tensors(x), yv = g_.variant_tensors(y);
    for (size_t k = 0; same && k < xv.size(); ++k) same = xv[k]->dim() > d && xv[k]->size(d) == yv[k]->size(d);
    if (same) {
      shape[d] = 0;
    } else {
      several = several || inferred >= 0;
      inferred = static_cast<int>(d);
      shape[d] = -1;
    }
  }
  if (!several) {
    node("Reshape", {in(0), g_.int64s(shape)}, {out()});
    return;
  }
  // Dims of x and y in groups of equal products (the reshape's factorisation); a moving
  // dynamic dim is its group's input dims' product (Shape, Gather, ReduceProd) over the
  // group's fixed output dims.
  const auto sizes_ok = [&](const std::vector<int64_t>& xi, const std::vector<int64_t>& yj) {
    auto prod = [](const Tensor& t, const std::vector<int64_t>& dims) {
      int64_t p = 1;
      for (int64_t d : dims) p *= t.size(d);
      return p;
    };
    bool ok = prod(xt, xi) == prod(yt, yj);
    const auto xv = g_.variant_tensors(x), yv = g_.variant_tensors(y);
    for (size_t k = 0; ok && k < xv.size(); ++k) ok = prod(*xv[k], xi) == prod(*yv[k], yj);
    return ok;
  };
  const std::string x_shape = tmp("Shape", {in(0)});
  std::vector<std::string> pieces;
  int64_t i = 0, j = 0;
  while (i < xt.dim() || j < yt.dim()) {
    std::vector<int64_t> xi, yj;
    int64_t px = 1, py = 1;
    if (i < xt.dim()) px *= xt.size(xi.emplace_back(i++));
    if (j < yt.dim()) py *= yt.size(yj.emplace_back(j++));
    while (px != py) {
      if (px < py && i < xt.dim()) {
        px *= xt.size(xi.emplace_back(i++));
      } else if (j < yt.dim()) {
        py *= yt.size(yj.emplace_back(j++));
      } else {
        break;
      }
    }
    if (!sizes_ok(xi, yj)) refuse("its dims regroup differently when a dynamic axis changes size");
    // Each moving dim that follows one dynamic axis affinely (c * axis + b) is computed from
    // that axis; at most one other moving dim per group, from the group's product.
    int moving = -1;
    int64_t fixed = 1;
    std::map<int64_t, std::string> from_axis;
    const auto yv = g_.variant_tensors(y);
    for (int64_t d : yj) {
      if (!g_.varies(y, d)) {
        fixed *= yt.size(d);
        continue;
      }
      int axis = -1;
      for (size_t k = 0; k < yv.size(); ++k) {
        if (yv[k]->size(d) == yt.size(d)) continue;
        axis = axis == -1 ? static_cast<int>(k) : -2;
      }
      if (axis >= 0) {
        const int64_t c = yv[static_cast<size_t>(axis)]->size(d) - yt.size(d);
        const int64_t b = yt.size(d) - c * g_.symbol_size(static_cast<size_t>(axis));
        if (c >= 1) {
          std::string v = g_.symbol_value(static_cast<size_t>(axis));
          if (c != 1) v = tmp("Mul", {v, g_.int64s({c})});
          if (b != 0) v = tmp("Add", {v, g_.int64s({b})});
          from_axis[d] = v;
          continue;
        }
      }
      if (moving >= 0)
        refuse("dims " + std::to_string(moving) + " and " + std::to_string(d) + " of the result " +
                   shape_str(yt.sizes()) + " split one group of dims that depends on several dynamic axes",
               "split a dynamic dim into at most one part that mixes dynamic axes");
      moving = static_cast<int>(d);
    }
    for (int64_t d : yj) {
      if (auto it = from_axis.find(d); it != from_axis.end()) {
        pieces.push_back(it->second);
        continue;
      }
      if (d != moving) {
        pieces.push_back(g_.int64s({yt.size(d)}));
        continue;
      }
      auto& r = node("ReduceProd", {tmp("Gather", {x_shape, g_.int64s(xi)})}, {g_.fresh("ReduceProd")});
      add_attr(r, "keepdims", int64_t{1});
      std::string v = r.output(0);
      if (fixed != 1) v = tmp("Div", {v, g_.int64s({fixed})});
      for (const auto& [other, size] : from_axis) v = tmp("Div", {v, size});
      pieces.push_back(v);
    }
  }
  const std::string target = g_.fresh("Concat");
  add_attr(node("Concat", pieces, {target}), "axis", int64_t{0});
  node("Reshape", {in(0), target}, {out()});
}

void Emitter::expand() {
  const int x = n_.inputs[0], y = n_.outputs[0];
  const Tensor &xt = in_t(0), &yt = out_t();
  std::vector<int64_t> shape(yt.sizes().begin(), yt.sizes().end());
  const int64_t lead = yt.dim() - xt.dim();
  for (int64_t d = 0; d < yt.dim(); ++d) {
    if (!g_.varies(y, d)) continue;
    // Expand broadcasts both ways: 1 keeps the input's (dynamic) size.
    if (d >= lead && g_.varies(x, d - lead)) {
      shape[d] = 1;
    } else {
      refuse("expands to a size " + shape_str(yt.sizes()) + " that depends on a dynamic axis",
             "let broadcasting in an element-wise op do it, or drop that axis from dynamic_axes");
    }
  }
  node("Expand", {in(0), g_.int64s(shape)}, {out()});
}

void Emitter::slice() {
  const int x = n_.inputs[0];
  const int64_t d = n_.attrs.dim, size = in_t(0).size(d);
  int64_t start = n_.attrs.start, end = n_.attrs.end;
  if (g_.varies(x, d)) {
    // Bounds are kept relative to the end where they follow the dynamic size.
    auto relative = [&](auto field, int64_t v) -> int64_t {
      bool same = true, same_from_end = true;
      const auto xv = g_.variant_tensors(x);
      for (size_t k = 0; k < en_.variants.size(); ++k) {
        const int64_t vk = field(*en_.variants[k]), sk = xv[k]->size(d);
        same = same && vk == v;
        same_from_end = same_from_end && vk - sk == v - size;
      }
      if (same) return v;
      if (same_from_end) return v - size;
      refuse("its bounds along dim " + std::to_string(d) + " change with a dynamic axis in a way that is neither "
             "fixed nor relative to the end");
    };
    const bool to_end = [&] {
      bool all = end == size;
      const auto xv = g_.variant_tensors(x);
      for (size_t k = 0; k < en_.variants.size(); ++k) all = all && en_.variants[k]->attrs.end == xv[k]->size(d);
      return all;
    }();
    start = relative([](const TraceNode& t) { return t.attrs.start; }, start);
    end = to_end ? std::numeric_limits<int64_t>::max() : relative([](const TraceNode& t) { return t.attrs.end; }, end);
  }
  node("Slice", {in(0), g_.int64s({start}), g_.int64s({end}), g_.int64s({d}), g_.int64s({n_.attrs.step})}, {out()});
}

void Emitter::reduce() {
  const Tensor& xt = in_t(0);
  std::vector<int64_t> axes(n_.attrs.dims.begin(), n_.attrs.dims.end());
  if (n_.op == OpId::Prod) axes = n_.attrs.all_dims ? std::vector<int64_t>{} : std::vector<int64_t>{n_.attrs.dim};
  if (axes.empty())
    for (int64_t d = 0; d < xt.dim(); ++d) axes.push_back(d);
  const int64_t keep = n_.attrs.keepdim ? 1 : 0;
  std::string x = in(0);
  if (out_t().dtype() != xt.dtype()) {  // integer sums accumulate in int64
    x = g_.fresh("Cast");
    add_attr(node("Cast", {in(0)}, {x}), "to", static_cast<int64_t>(onnx_dtype(out_t().dtype())));
  }
  if (axes.empty()) {  // a 0-dim input: nothing to reduce
    node("Identity", {x}, {out()});
    return;
  }
  if (n_.op == OpId::Sum) {
    add_attr(node("ReduceSum", {x, g_.int64s(axes)}, {out()}), "keepdims", keep);
    return;
  }
  const char* type = n_.op == OpId::Prod ? "ReduceProd" : n_.op == OpId::AMax ? "ReduceMax" : "ReduceMin";
  auto& r = node(type, {x}, {out()});
  add_attr(r, "axes", axes);
  add_attr(r, "keepdims", keep);
}

void Emitter::pool(bool max) {
  require_static_attrs();
  const Shape kernel = ints_attr(n_, "kernel_shape"), strides = ints_attr(n_, "strides"),
              pads = ints_attr(n_, "pads"), padding = ints_attr(n_, "padding");
  const size_t nsp = kernel.size();
  bool past_padding = false;  // a ceil-mode window that runs past the right padding
  for (size_t d = 0; d < nsp; ++d) past_padding = past_padding || pads[nsp + d] != padding[d];
  if (max) {
    if (n_.outputs.size() > 1 && g_.used(n_.outputs[1]))
      refuse("the indices output has no ONNX counterpart (ONNX MaxPool's indices flatten the whole tensor, "
             "PyTorch's each plane)", "export max_pool without return_indices");
    auto& p = node("MaxPool", {in(0)}, {out()});
    add_attr(p, "kernel_shape", kernel);
    add_attr(p, "strides", strides);
    add_attr(p, "pads", pads);
    add_attr(p, "dilations", ints_attr(n_, "dilations"));
    return;
  }
  if (find_attr(n_, "divisor_override"))
    refuse("divisor_override has no ONNX counterpart", "divide the sum (avg_pool * kernel size) yourself");
  const int64_t include = int_attr(n_, "count_include_pad", 1);
  if (past_padding && include)
    refuse("with ceil_mode=true a window runs past the padding, and count_include_pad=true counts that part "
           "differently in ONNX", "use count_include_pad=false or ceil_mode=false");
  auto& p = node("AveragePool", {in(0)}, {out()});
  add_attr(p, "kernel_shape", kernel);
  add_attr(p, "strides", strides);
  add_attr(p, "pads", pads);
  add_attr(p, "count_include_pad", include);
}

std::string Emitter::param_or(size_t i, double fill, const Shape& shape) {
  const Tensor& x = in_t(0);
  if (i >= n_.inputs.size() || n_.inputs[i] < 0) return g_.constant(full(shape, fill, {.dtype = x.dtype()}));
  if (in_t(i).dtype() == x.dtype()) return in(i);
  const std::string t = g_.fresh("Cast");
  add_attr(node("Cast", {in(i)}, {t}), "to", static_cast<int64_t>(onnx_dtype(x.dtype())));
  return t;
}

void Emitter::batch_norm() {
  if (int_attr(n_, "training", 0))
    refuse("in training mode it normalises with the batch's statistics and updates the running ones",
           "export in eval mode (modules: the exporter calls eval(); F::batch_norm: training=false)");
  const Shape c{in_t(0).size(1)};
  auto& b = node("BatchNormalization",
                 {in(0), param_or(1, 1, c), param_or(2, 0, c), param_or(3, 0, c), param_or(4, 1, c)}, {out()});
  add_attr(b, "epsilon", static_cast<float>(float_attr(n_, "epsilon", 1e-5)));
}

void Emitter::layer_norm() {
  const Tensor& x = in_t(0);
  const int64_t axis = int_attr(n_, "axis", x.dim() - 1);
  const float eps = static_cast<float>(float_attr(n_, "epsilon", 1e-5));
  const Shape normalized(x.sizes().begin() + axis, x.sizes().end());
  const std::string scale = param_or(1, 1, normalized);
  const bool has_bias = n_.inputs.size() > 2 && n_.inputs[2] >= 0;
  if (g_.opset() >= 17) {
    std::vector<std::string> ins = {in(0), scale};
    if (has_bias) ins.push_back(param_or(2, 0, normalized));
    auto& l = node("LayerNormalization", ins, {out()});
    add_attr(l, "axis", axis);
    add_attr(l, "epsilon", eps);
    return;
  }
  // No LayerNormalization before opset 17: its formula.
  std::vector<int64_t> axes;
  for (int64_t d = axis; d < x.dim(); ++d) axes.push_back(d);
  auto mean = [&](const std::string& v) {
    const std::string m = g_.fresh("ReduceMean");
    auto& r = node("ReduceMean", {v}, {m});
    add_attr(r, "axes", axes);
    add_attr(r, "keepdims", int64_t{1});
    return m;
  };
  const std::string centered = tmp("Sub", {in(0), mean(in(0))});
  const std::string var = mean(tmp("Mul", {centered, centered}));
  const std::string inv = tmp("Reciprocal", {tmp("Sqrt", {tmp("Add", {var, scalar(eps, x)})})});
  const std::string scaled = tmp("Mul", {tmp("Mul", {centered, inv}), scale});
  if (has_bias) {
    node("Add", {scaled, param_or(2, 0, normalized)}, {out()});
  } else {
    node("Identity", {scaled}, {out()});
  }
}

void Emitter::named() {
  std::string name = n_.name;
  if (!name.empty() && name.back() == '_') name.pop_back();  // in-place forms: gt_ is gt
  static const std::map<std::string, std::string> compare = {
      {"eq", "Equal"}, {"lt", "Less"}, {"le", "LessOrEqual"}, {"gt", "Greater"}, {"ge", "GreaterOrEqual"}};
  if (auto it = compare.find(name); it != compare.end()) return binary(it->second);
  if (name == "ne") {
    node("Not", {tmp("Equal", {in(0), in(1)})}, {out()});
    return;
  }
  auto as_bool = [&](size_t i) {
    if (in_t(i).dtype() == DType::Bool) return in(i);
    const std::string t = g_.fresh("Cast");
    add_attr(node("Cast", {in(i)}, {t}), "to", static_cast<int64_t>(::onnx::TensorProto::BOOL));
    return t;
  };
  static const std::map<std::string, std::string> logical = {
      {"logical_and", "And"}, {"logical_or", "Or"}, {"logical_xor", "Xor"}};
  if (auto it = logical.find(name); it != logical.end()) {
    node(it->second, {as_bool(0), as_bool(1)}, {out()});
    return;
  }
  if (name == "logical_not") {
    node("Not", {as_bool(0)}, {out()});
    return;
  }
  if (name == "conv" || name == "conv_transpose") {
    require_static_attrs();
    std::vector<std::string> ins = {in(0), in(1)};
    if (n_.inputs.size() > 2 && n_.inputs[2] >= 0) ins.push_back(in(2));
    auto& c = node(name == "conv" ? "Conv" : "ConvTranspose", ins, {out()});
    add_attr(c, "kernel_shape", ints_attr(n_, "kernel_shape"));
    add_attr(c, "strides", ints_attr(n_, "strides"));
    add_attr(c, "pads", ints_attr(n_, "pads"));
    add_attr(c, "dilations", ints_attr(n_, "dilations"));
    add_attr(c, "group", int_attr(n_, "group", 1));
    if (name == "conv_transpose") add_attr(c, "output_padding", ints_attr(n_, "output_padding"));
    return;
  }
  if (name == "dropout")
    refuse("in training mode it draws a random mask; ONNX Dropout's training mode is not exported",
           "call dropout with training=false (modules: the exporter puts them in eval mode)");
  if (name == "linear") {  // inputs of rank != 2: x @ w^T (+ b), batched
    const std::string wt = tmp("Transpose", {in(1)});
    if (n_.inputs.size() > 2 && n_.inputs[2] >= 0) {
      node("Add", {tmp("MatMul", {in(0), wt}), in(2)}, {out()});
    } else {
      node("MatMul", {in(0), wt}, {out()});
    }
    return;
  }
  if (name == "embedding") {
    if (find_attr(n_, "max_norm"))
      refuse("max_norm renormalises the weight in place during forward; an ONNX graph cannot update its "
             "initializers", "renormalise the weight once before exporting and drop max_norm");
    add_attr(node("Gather", {in(0), in(1)}, {out()}), "axis", int64_t{0});
    return;
  }
  if (name == "index_select") {
    if (in_t(0).dim() == 0) refuse("a 0-dim input has no ONNX Gather form");
    std::string index = in(1);
    if (in_t(1).dim() == 0) index = tmp("Reshape", {in(1), g_.int64s({1})});
    add_attr(node("Gather", {in(0), index}, {out()}), "axis", int_attr(n_, "axis", 0));
    return;
  }
  if (name == "topk") {  // also sort and argsort, which are topk with k = the dim's size
    require_static_attrs();
    if (in_t(0).dim() == 0) refuse("a 0-dim input has no ONNX TopK form");
    auto& top = node("TopK", {in(0), g_.int64s({int_attr(n_, "k", 0)})}, {out(0), out(1)});
    add_attr(top, "axis", int_attr(n_, "dim", -1));
    add_attr(top, "largest", int_attr(n_, "largest", 1));
    add_attr(top, "sorted", int64_t{1});  // ONNX breaks ties by index, as our stable sort
    return;
  }
  if (name == "all" || name == "any") {
    // Nonzero -> bool -> int32, then ReduceMin (all) / ReduceMax (any), back to bool.
    require_static_attrs();
    if (out_t().dtype() != DType::Bool) refuse("only a bool result is exported (uint8 inputs give uint8)");
    const std::string as_int = g_.fresh("Cast");
    add_attr(node("Cast", {as_bool(0)}, {as_int}), "to", static_cast<int64_t>(::onnx::TensorProto::INT32));
    const std::string reduced = g_.fresh(name == "all" ? "ReduceMin" : "ReduceMax");
    auto& r = node(name == "all" ? "ReduceMin" : "ReduceMax", {as_int}, {reduced});
    if (!int_attr(n_, "all_dims", 0)) add_attr(r, "axes", std::vector<int64_t>{int_attr(n_, "dim", 0)});
    add_attr(r, "keepdims", int_attr(n_, "all_dims", 0) ? int64_t{0} : int_attr(n_, "keepdim", 0));
    add_attr(node("Cast", {reduced}, {out()}), "to", static_cast<int64_t>(::onnx::TensorProto::BOOL));
    return;
  }
  if (name == "masked_select") {
    refuse("its output size depends on the data (ONNX shapes would not be static)",
           "keep the shape with where(mask, x, 0) and reduce, or select outside the exported model");
  }
  if (name == "batch_norm") return batch_norm();
  if (name == "layer_norm") return layer_norm();
  if (name == "max_pool") return pool(true);
  if (name == "avg_pool") return pool(false);
  refuse("has no ONNX counterpart in the exporter");
}

void Emitter::emit() {
  if (n_.named) return named();
  const double sqrt2 = std::numbers::sqrt2;
  switch (n_.op) {
    case OpId::Neg: return unary("Neg");
    case OpId::Abs: return unary("Abs");
    case OpId::Exp: return unary("Exp");
    case OpId::Log: return unary("Log");
    case OpId::Sqrt: return unary("Sqrt");
    case OpId::Sin: return unary("Sin");
    case OpId::Cos: return unary("Cos");
    case OpId::Tanh: return unary("Tanh");
    case OpId::Sigmoid: return unary("Sigmoid");
    case OpId::Relu: return unary("Relu");
    case OpId::Erf: return unary("Erf");
    case OpId::Reciprocal: return unary("Reciprocal");
    case OpId::Log1p:
      node("Log", {tmp("Add", {in(0), scalar(1, in_t(0))})}, {out()});
      return;
    case OpId::Rsqrt:
      node("Reciprocal", {tmp("Sqrt", {in(0)})}, {out()});
      return;
    case OpId::Square:
      node("Mul", {in(0), in(0)}, {out()});
      return;
    case OpId::Silu:
      node("Mul", {in(0), tmp("Sigmoid", {in(0)})}, {out()});
      return;
    case OpId::Gelu: {
      // No Gelu before opset 20: 0.5 x (1 + erf(x / sqrt 2)), or the tanh form.
      const Tensor& x = in_t(0);
      std::string inner;
      if (n_.attrs.scalar.to_double() == 0) {
        inner = tmp("Erf", {tmp("Div", {in(0), scalar(sqrt2, x)})});
      } else {
        const std::string cube = tmp("Mul", {tmp("Mul", {in(0), in(0)}), in(0)});
        const std::string poly = tmp("Add", {in(0), tmp("Mul", {cube, scalar(0.044715, x)})});
        inner = tmp("Tanh", {tmp("Mul", {poly, scalar(std::sqrt(2.0 / std::numbers::pi), x)})});
      }
      const std::string half_x = tmp("Mul", {in(0), scalar(0.5, x)});
      node("Mul", {half_x, tmp("Add", {inner, scalar(1, x)})}, {out()});
      return;
    }
    case OpId::Add: return binary("Add");
    case OpId::Sub: return binary("Sub");
    case OpId::Mul: return binary("Mul");
    case OpId::Div: return binary("Div");
    case OpId::Pow: return binary("Pow");
    case OpId::Minimum: return binary("Min");
    case OpId::Maximum: return binary("Max");
    case OpId::Where:
      node("Where", {in(0), in(1), in(2)}, {out()});
      return;
    case OpId::Clamp:
      if (in_t(1).dim() == 0 && in_t(2).dim() == 0 && in_t(0).is_floating_point()) {
        node("Clip", {in(0), in(1), in(2)}, {out()});
      } else {
        node("Min", {tmp("Max", {in(0), in(1)}), in(2)}, {out()});
      }
      return;
    case OpId::Sum: case OpId::Prod: case OpId::AMax: case OpId::AMin:
      return reduce();
    case OpId::MaxDim: case OpId::MinDim: {
      const bool is_max = n_.op == OpId::MaxDim;
      const int64_t keep = n_.attrs.keepdim ? 1 : 0;
      if (in_t(0).dim() == 0) {
        node("Identity", {in(0)}, {out(0)});
        node("Identity", {g_.constant(zeros({}, {.dtype = DType::Int64}))}, {out(1)});
        return;
      }
      auto& v = node(is_max ? "ReduceMax" : "ReduceMin", {in(0)}, {out(0)});
      add_attr(v, "axes", std::vector<int64_t>{n_.attrs.dim});
      add_attr(v, "keepdims", keep);
      auto& i = node(is_max ? "ArgMax" : "ArgMin", {in(0)}, {out(1)});
      add_attr(i, "axis", n_.attrs.dim);
      add_attr(i, "keepdims", keep);
      return;
    }
    case OpId::Reshape: return reshape();
    case OpId::Expand: return expand();
    case OpId::Permute: {
      auto& t = node("Transpose", {in(0)}, {out()});
      add_attr(t, "perm", std::vector<int64_t>(n_.attrs.dims.begin(), n_.attrs.dims.end()));
      return;
    }
    case OpId::Slice: return slice();
    case OpId::ToDtype:
      add_attr(node("Cast", {in(0)}, {out()}), "to", static_cast<int64_t>(onnx_dtype(out_t().dtype())));
      return;
    case OpId::ToDevice: case OpId::Clone:
      return unary("Identity");
    case OpId::Matmul: return binary("MatMul");
    case OpId::Linear: {
      std::vector<std::string> ins = {in(0), in(1)};
      if (n_.inputs.size() > 2 && n_.inputs[2] >= 0) ins.push_back(in(2));
      add_attr(node("Gemm", ins, {out()}), "transB", int64_t{1});
      return;
    }
    case OpId::Gather:
      add_attr(node("GatherElements", {in(0), in(1)}, {out()}), "axis", n_.attrs.dim);
      return;
    case OpId::Scatter: case OpId::ScatterAdd: {
      std::string src = in(2);
      if (in_t(2).sizes() != in_t(1).sizes()) {
        for (int64_t d = 0; d < in_t(1).dim(); ++d)
          if (g_.varies(n_.inputs[1], d))
            refuse("scatters a broadcast value with an index that follows a dynamic axis");
        src = tmp("Expand", {in(2), g_.int64s(in_t(1).sizes().vec())});
      }
      if (n_.op == OpId::ScatterAdd && g_.opset() < 16)
        refuse("ScatterElements' reduction needs opset 16", "use opset 16 or 17");
      auto& s = node("ScatterElements", {in(0), in(1), src}, {out()});
      add_attr(s, "axis", n_.attrs.dim);
      if (n_.op == OpId::ScatterAdd) add_attr(s, "reduction", std::string("add"));
      return;
    }
    case OpId::Cat: {
      std::vector<std::string> ins;
      for (size_t i = 0; i < n_.inputs.size(); ++i) ins.push_back(in(i));
      add_attr(node("Concat", ins, {out()}), "axis", n_.attrs.dim);
      return;
    }
    case OpId::Softmax: case OpId::LogSoftmax:
      add_attr(node(n_.op == OpId::Softmax ? "Softmax" : "LogSoftmax", {in(0)}, {out()}), "axis", n_.attrs.dim);
      return;
    case OpId::Im2col:
      refuse("has no ONNX counterpart at opset <= 17 (Col2Im arrives in 18, Im2Col never)",
             "use conv (F::conv2d / nn::Conv2d) rather than unfold + matmul");
    case OpId::Col2im:
      refuse("has no ONNX counterpart at opset <= 17 (Col2Im arrives in opset 18)");
    case OpId::MaxPool:
      refuse("is only exported through F::max_pool*d / nn::MaxPool*d");
    case OpId::SliceScatter: case OpId::AsStrided: case OpId::AsStridedScatter:
      refuse("writes into a view; ONNX values are immutable", "build the result out of place (e.g. with cat)");
    case OpId::NllLoss: case OpId::CrossEntropy:
      refuse("losses are not exported", "export the model that produces the scores, and compute the loss outside");
    case OpId::LayerNorm:
      refuse("is the fused kernel, which F::layer_norm does not take while tracing",
             "trace through F::layer_norm / nn::LayerNorm (exported as LayerNormalization)");
    case OpId::BatchNorm:
      refuse("is the fused kernel, which F::batch_norm does not take while tracing",
             "trace through F::batch_norm / nn::BatchNorm*d (exported as BatchNormalization)");
    case OpId::Conv:
      refuse("is the fused kernel, which F::conv*d does not take while tracing",
             "trace through F::conv*d / nn::Conv*d (exported as Conv)");
    case OpId::Fill:
      refuse("fills a traced tensor in place", "create the constant with full()/zeros() instead");
  }
  refuse("has no ONNX counterpart");
}

}  // namespace

void emit_node(GraphBuilder& g, const ExportNode& n) { Emitter(g, n).emit(); }

}  // namespace fulgur::onnx
