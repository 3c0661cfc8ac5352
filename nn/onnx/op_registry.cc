#include "fulgur/nn/onnx/op_registry.h"

#include <sstream>

#include "fulgur/nn/onnx/tensor_proto.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {

const Tensor& OpContext::input(size_t i) const {
  if (!has_input(i)) fail("missing input " + std::to_string(i));
  return inputs_[i];
}

const ::onnx::AttributeProto* OpContext::find(const std::string& name) const {
  for (const auto& a : node_.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t OpContext::attr_int(const std::string& name, std::optional<int64_t> def) const {
  const auto* a = find(name);
  if (a == nullptr) {
    if (!def) fail("missing attribute '" + name + "'");
    return *def;
  }
  check(a->type() == ::onnx::AttributeProto::INT || a->has_i(), "attribute '" + name + "' is not an int");
  return a->i();
}

float OpContext::attr_float(const std::string& name, std::optional<float> def) const {
  const auto* a = find(name);
  if (a == nullptr) {
    if (!def) fail("missing attribute '" + name + "'");
    return *def;
  }
  check(a->type() == ::onnx::AttributeProto::FLOAT || a->has_f(), "attribute '" + name + "' is not a float");
  return a->f();
}

std::string OpContext::attr_string(const std::string& name, std::optional<std::string> def) const {
  const auto* a = find(name);
  if (a == nullptr) {
    if (!def) fail("missing attribute '" + name + "'");
    return *def;
  }
  return a->s();
}

std::vector<int64_t> OpContext::attr_ints(const std::string& name,
                                          std::optional<std::vector<int64_t>> def) const {
  const auto* a = find(name);
  if (a == nullptr) {
    if (!def) fail("missing attribute '" + name + "'");
    return *def;
  }
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::vector<float> OpContext::attr_floats(const std::string& name) const {
  const auto* a = find(name);
  if (a == nullptr) fail("missing attribute '" + name + "'");
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

Tensor OpContext::attr_tensor(const std::string& name) const {
  const auto* a = find(name);
  if (a == nullptr || !a->has_t()) fail("missing tensor attribute '" + name + "'");
  return tensor_from_proto(a->t());
}

std::string OpContext::where() const {
  std::ostringstream ss;
  ss << fulgur::printable(node_.op_type()) << " node '" << fulgur::printable(node_.name()) << "'";
  if (node_.output_size() > 0) ss << " (output '" << fulgur::printable(node_.output(0)) << "')";
  ss << " at opset " << opset_;
  return ss.str();
}

void OpContext::fail(const std::string& message) const { FULGUR_FAIL("onnx", where(), ": ", message); }

int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank) {
  ctx.check(axis >= -rank && axis < rank,
            "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> to_int64s(const Tensor& t) { return t.to_vector<int64_t>(); }

Tensor pad_tensor(const OpContext& ctx, const Tensor& x, const std::vector<int64_t>& pads, const std::string& mode,
                  double value) {
  const int64_t rank = x.dim();
  ctx.check(static_cast<int64_t>(pads.size()) == 2 * rank,
            "pads has " + std::to_string(pads.size()) + " values for rank " + std::to_string(rank));
  Tensor y = x;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t b = pads[d], e = pads[d + rank];
    if (b == 0 && e == 0) continue;
    // Negative pads crop.
    if (b < 0) {
      ctx.check(-b <= y.size(d), "negative pad larger than the dim");
      y = y.narrow(d, -b, y.size(d) + b);
      b = 0;
    }
    if (e < 0) {
      ctx.check(-e <= y.size(d), "negative pad larger than the dim");
      y = y.narrow(d, 0, y.size(d) + e);
      e = 0;
    }
    if (b == 0 && e == 0) continue;
    const int64_t n = y.size(d);
    if (mode == "constant") {
      std::vector<Tensor> parts;
      Shape s(y.sizes().begin(), y.sizes().end());
      if (b > 0) {
        s[d] = b;
        parts.push_back(full(s, value, {.dtype = y.dtype()}));
      }
      parts.push_back(y);
      if (e > 0) {
        s[d] = e;
        parts.push_back(full(s, value, {.dtype = y.dtype()}));
      }
      y = cat(parts, d);
      continue;
    }
    ctx.check(mode == "reflect" || mode == "edge", "unsupported pad mode '" + fulgur::printable(mode) + "'");
    ctx.check(n > 0, "cannot " + mode + "-pad an empty dim");
    if (mode == "reflect") ctx.check(b < n && e < n, "reflect pads must be smaller than the dim");
    std::vector<int64_t> idx;
    for (int64_t i = -b; i < n + e; ++i) {
      int64_t j = i;
      if (mode == "edge") {
        j = std::min<int64_t>(std::max<int64_t>(i, 0), n - 1);
      } else {
        if (j < 0) j = -j;
        if (j >= n) j = 2 * (n - 1) - j;
      }
      idx.push_back(j);
    }
    y = y.index_select(d, from_vector(idx));
  }
  return y.contiguous();
}

const OpRegistry& op_registry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_elementwise_ops(r);
    register_activation_ops(r);
    register_conv_ops(r);
    register_pool_ops(r);
    register_normalization_ops(r);
    register_shape_ops(r);
    register_reduce_ops(r);
    register_linalg_ops(r);
    register_export_support_ops(r);
    return r;
  }();
  return registry;
}

}  // namespace fulgur::onnx
