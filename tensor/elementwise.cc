// Element-wise ops: broadcasting and type promotion happen here, once; kernels see inputs
// already in the compute dtype (see kernels/kernel_table.h).
#include <cmath>
#include <limits>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"
#include "fulgur/tensor/type_promotion.h"

namespace fulgur {
namespace {

using kernels::BinaryOp;
using kernels::UnaryOp;

bool produces_bool(BinaryOp op) {
  switch (op) {
    case BinaryOp::Eq: case BinaryOp::Ne: case BinaryOp::Lt: case BinaryOp::Le:
    case BinaryOp::Gt: case BinaryOp::Ge: case BinaryOp::LogicalAnd: case BinaryOp::LogicalOr:
    case BinaryOp::LogicalXor:
      return true;
    default:
      return false;
  }
}

// The autograd primitive of a differentiable binary op.
OpId op_id(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return OpId::Add;
    case BinaryOp::Sub: return OpId::Sub;
    case BinaryOp::Mul: return OpId::Mul;
    case BinaryOp::Div: return OpId::Div;
    case BinaryOp::Pow: return OpId::Pow;
    case BinaryOp::Minimum: return OpId::Minimum;
    default: return OpId::Maximum;  // comparisons and logical ops produce bool: never recorded
  }
}

const Tensor* tensor_of(const TensorOrScalar& x) {
  const Tensor* const* t = std::get_if<const Tensor*>(&x);
  return t ? *t : nullptr;
}

// The device an op runs on: that of its non-0-dim-CPU tensors (a 0-dim CPU tensor may join
// a CUDA op like a number, as in PyTorch).
Device op_device(std::initializer_list<TensorOrScalar> operands, const char* op) {
  std::optional<Device> device;
  std::optional<Device> scalar_device;
  for (const auto& x : operands) {
    const Tensor* t = tensor_of(x);
    if (!t) continue;
    FULGUR_CHECK(t->defined(), op, "an input tensor is undefined");
    if (t->dim() == 0 && t->device().is_cpu()) {
      scalar_device = t->device();
      continue;
    }
    FULGUR_CHECK(!device || *device == t->device(), op,
                 "expected all tensors on the same device, but found ", *device, " and ",
                 t->device(), "; hint: move them with .to(device)");
    device = t->device();
  }
  return device.value_or(scalar_device.value_or(kCPU));
}

Shape result_shape(std::initializer_list<TensorOrScalar> operands, const char* op) {
  Shape shape;
  for (const auto& x : operands) {
    if (const Tensor* t = tensor_of(x)) shape = broadcast_shapes(shape, t->sizes(), op);
  }
  return shape;
}

// The operand as a tensor of `dtype` on `device` (numbers become 0-dim tensors).
Tensor materialize(const TensorOrScalar& x, DType dtype, Device device) {
  if (const Tensor* t = tensor_of(x)) return t->to(device, dtype);
  Tensor s = make_tensor({}, dtype, device);
  s.fill_(std::get<Scalar>(x));
  return s;
}

void launch_binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const char* name) {
  if (out.numel() == 0) return;
  auto args = internal::elementwise_args(out, {a, b}, name);
  internal::table(out, name).binary(op, args);
}

// Writes `result` (already computed, broadcast shape) into self, in place.
Tensor& assign_result(Tensor& self, const Tensor& result, const char* name) {
  FULGUR_CHECK(can_cast(result.dtype(), self.dtype()), name, "result type ", result.dtype(),
               " can't be cast to the desired output type ", self.dtype(),
               "; hint: use the out-of-place op, or convert the tensor first");
  self.copy_(result);
  return self;
}

bool is_bool_operand(const TensorOrScalar& x) {
  if (const Tensor* t = tensor_of(x)) return t->defined() && t->dtype() == DType::Bool;
  return std::get<Scalar>(x).is_bool();
}

// PyTorch's sub_check: no bool operand on either side of `-` (a number `true` included).
void check_sub_operands(const TensorOrScalar& a, const TensorOrScalar& b, const char* name) {
  if (is_bool_operand(a) && is_bool_operand(b)) {
    FULGUR_FAIL(name, "subtraction, the `-` operator, with two bool tensors is not supported; "
                      "hint: to invert a mask use logical_not()");
  }
  FULGUR_CHECK(!is_bool_operand(a) && !is_bool_operand(b), name,
               "subtraction, the `-` operator, with a bool tensor is not supported; hint: to "
               "invert a mask use logical_not()");
}

Tensor binary(BinaryOp op, const TensorOrScalar& a, const TensorOrScalar& b, const char* name,
              Tensor* inplace = nullptr) {
  const Device device = op_device({a, b}, name);
  DType compute = result_type({a, b});
  if (op == BinaryOp::Div && !is_floating(compute)) compute = DType::Float32;
  if (op == BinaryOp::Sub) check_sub_operands(a, b, name);
  if (op == BinaryOp::Pow && !is_floating(compute)) {
    if (const Scalar* e = std::get_if<Scalar>(&b)) {
      FULGUR_CHECK(!(e->is_integral() && e->to_int64() < 0), name,
                   "integers to negative integer powers are not allowed; hint: use a float "
                   "exponent or a float tensor");
    }
  }
  const DType out_dtype = produces_bool(op) ? DType::Bool : compute;
  const Shape shape = result_shape({a, b}, name);
  if (inplace) {
    FULGUR_CHECK(IntArrayRef(shape) == inplace->sizes(), name, "output with shape ",
                 shape_str(inplace->sizes()), " doesn't match the broadcast shape ", shape_str(shape));
    FULGUR_CHECK(inplace->device() == device, name, "in-place op on a ", inplace->device(),
                 " tensor with inputs on ", device);
    FULGUR_CHECK(can_cast(out_dtype, inplace->dtype()), name, "result type ", out_dtype,
                 " can't be cast to the desired output type ", inplace->dtype(),
                 "; hint: use the out-of-place op, or convert the tensor first");
  }
  if (inplace) {
    return internal::apply_inplace(
        *inplace, {tensor_of(a), tensor_of(b)}, name,
        [&](const Tensor& old) {
          // Operands that are self read its old value.
          auto current = [&](const TensorOrScalar& x) -> TensorOrScalar {
            const Tensor* t = tensor_of(x);
            return t && t->is_same(*inplace) ? TensorOrScalar(&old) : x;
          };
          return binary(op, current(a), current(b), name);
        },
        [&] {
          Tensor ta = materialize(a, compute, device);
          Tensor tb = materialize(b, compute, device);
          if (inplace->dtype() != out_dtype) {
            Tensor out = make_tensor(shape, out_dtype, device);
            launch_binary(op, out, ta, tb, name);
            assign_result(*inplace, out, name);
            return;
          }
          internal::check_no_internal_overlap(*inplace, name);
          // An input that partially overlaps the output must be read before it is overwritten.
          if (internal::may_overlap(*inplace, tb) && !tb.is_same(*inplace)) tb = tb.clone();
          if (internal::may_overlap(*inplace, ta) && !ta.is_same(*inplace)) ta = ta.clone();
          inplace->bump_version();
          launch_binary(op, *inplace, ta, tb, name);
        });
  }
  const Tensor ta = materialize(a, compute, device);
  const Tensor tb = materialize(b, compute, device);
  auto compute_out = [&] {
    Tensor out = make_tensor(shape, out_dtype, device);
    launch_binary(op, out, ta, tb, name);
    return std::vector<Tensor>{out};
  };
  if (produces_bool(op)) {  // not differentiable: only a tracer sees it
    Tensor out = compute_out()[0];
    trace_named_op(name, {ta, tb}, {}, {out});
    return out;
  }
  return record_op1(op_id(op), {ta, tb}, {}, compute_out);
}

OpId op_id(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return OpId::Neg;
    case UnaryOp::Abs: return OpId::Abs;
    case UnaryOp::Exp: return OpId::Exp;
    case UnaryOp::Log: return OpId::Log;
    case UnaryOp::Log1p: return OpId::Log1p;
    case UnaryOp::Sqrt: return OpId::Sqrt;
    case UnaryOp::Rsqrt: return OpId::Rsqrt;
    case UnaryOp::Sin: return OpId::Sin;
    case UnaryOp::Cos: return OpId::Cos;
    case UnaryOp::Tanh: return OpId::Tanh;
    case UnaryOp::Sigmoid: return OpId::Sigmoid;
    case UnaryOp::Relu: return OpId::Relu;
    case UnaryOp::Erf: return OpId::Erf;
    case UnaryOp::GeluErf: case UnaryOp::GeluTanh: return OpId::Gelu;
    case UnaryOp::Silu: return OpId::Silu;
    case UnaryOp::Square: return OpId::Square;
    case UnaryOp::Reciprocal: return OpId::Reciprocal;
    case UnaryOp::LogicalNot: break;
  }
  return OpId::Neg;  // LogicalNot produces bool: never recorded
}

bool is_floating_only(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Relu: case UnaryOp::LogicalNot:
    case UnaryOp::Square:
      return false;
    default:
      return true;
  }
}

Tensor unary(UnaryOp op, const Tensor& x, const char* name, Tensor* inplace = nullptr) {
  FULGUR_CHECK(x.defined(), name, "the input tensor is undefined");
  DType compute = x.dtype();
  if (is_floating_only(op) && !is_floating(compute)) {
    const bool promotes = op != UnaryOp::GeluErf && op != UnaryOp::GeluTanh && op != UnaryOp::Silu;
    FULGUR_CHECK(promotes, name, "expected a floating-point tensor, got ", compute,
                 "; hint: convert with .to(kFloat32)");
    compute = DType::Float32;  // torch.exp(int_tensor) is float32
  }
  FULGUR_CHECK(!(op == UnaryOp::Neg && compute == DType::Bool), name,
               "negation, the `-` operator, on a bool tensor is not supported; hint: use "
               "logical_not()");
  FULGUR_CHECK(!((op == UnaryOp::Relu || op == UnaryOp::Abs) && compute == DType::Bool), name,
               "not implemented for bool tensors; hint: convert with .to(kFloat32)");
  const DType out_dtype = op == UnaryOp::LogicalNot ? DType::Bool : compute;
  if (inplace) {
    FULGUR_CHECK(can_cast(out_dtype, inplace->dtype()), name, "result type ", out_dtype,
                 " can't be cast to the desired output type ", inplace->dtype(),
                 "; hint: use the out-of-place op, or convert the tensor first");
    return internal::apply_inplace(
        *inplace, {&x}, name, [&](const Tensor& old) { return unary(op, x.is_same(*inplace) ? old : x, name); },
        [&] {
          if (out_dtype == inplace->dtype() && x.is_same(*inplace) && compute == x.dtype()) {
            internal::check_no_internal_overlap(*inplace, name);
            inplace->bump_version();
            if (inplace->numel() == 0) return;
            auto args = internal::elementwise_args(*inplace, {x}, name);
            internal::table(*inplace, name).unary(op, args);
            return;
          }
          assign_result(*inplace, unary(op, x, name), name);
        });
  }
  const Tensor input = x.to(compute);
  auto compute_out = [&] {
    Tensor out = make_tensor(x.sizes(), out_dtype, x.device());
    if (out.numel() > 0) {
      auto args = internal::elementwise_args(out, {input}, name);
      internal::table(out, name).unary(op, args);
    }
    return std::vector<Tensor>{out};
  };
  if (op == UnaryOp::LogicalNot) {
    Tensor out = compute_out()[0];
    trace_named_op(name, {input}, {}, {out});
    return out;
  }
  OpAttrs attrs;
  attrs.scalar = op == UnaryOp::GeluTanh ? 1 : 0;
  return record_op1(op_id(op), {input}, attrs, compute_out);
}

// alpha * b for add/sub, in the dtype self and b promote to (so int8 * 100 added to int64
// does not wrap in int8, and bool stays bool), with PyTorch's alpha_check.
Tensor scaled(const Tensor& self, const Tensor& b, const Scalar& alpha, const char* name) {
  FULGUR_CHECK(b.defined(), name, "an input tensor is undefined");
  const DType dtype = result_type(self, b);
  FULGUR_CHECK(!alpha.is_bool() || dtype == DType::Bool, name,
               "boolean alpha only supported for bool results, got ", dtype);
  FULGUR_CHECK(!alpha.is_floating() || is_floating(dtype), name,
               "for integral input tensors, argument alpha must not be a floating point number, "
               "got ", alpha);
  const bool unit = alpha.is_floating() ? alpha.to_double() == 1.0 : alpha.to_int64() == 1;
  if (unit) return b;
  if (dtype == DType::Bool) return b.mul(alpha.to_bool());  // bool * bool stays bool
  return b.to(dtype).mul(alpha);
}

// where / clamp share this: out = kernel(op[1], op[2], op[3]) with promotion over the
// non-condition operands.
Tensor ternary(bool is_where, const TensorOrScalar& x, const TensorOrScalar& y,
               const TensorOrScalar& z, const char* name) {
  const Device device = op_device({x, y, z}, name);
  const Shape shape = result_shape({x, y, z}, name);
  Tensor out;
  Tensor t0, t1, t2;
  if (is_where) {
    const Tensor* cond = tensor_of(x);
    FULGUR_CHECK(cond && cond->dtype() == DType::Bool, name, "condition must be a bool tensor, got ",
                 cond ? dtype_name(cond->dtype()) : "a number", "; hint: compare, e.g. x > 0");
    const DType dtype = result_type({y, z});
    t0 = materialize(x, DType::Bool, device);
    t1 = materialize(y, dtype, device);
    t2 = materialize(z, dtype, device);
    out = make_tensor(shape, dtype, device);
  } else {
    const DType dtype = result_type({x, y, z});
    FULGUR_CHECK(dtype != DType::Bool, name, "not implemented for bool tensors");
    t0 = materialize(x, dtype, device);
    t1 = materialize(y, dtype, device);
    t2 = materialize(z, dtype, device);
    out = make_tensor(shape, dtype, device);
  }
  return record_op1(is_where ? OpId::Where : OpId::Clamp, {t0, t1, t2}, {}, [&] {
    if (out.numel() > 0) {
      auto args = internal::elementwise_args(out, {t0, t1, t2}, name);
      const auto& table = internal::table(out, name);
      if (is_where) table.where(args); else table.clamp(args);
    }
    return std::vector<Tensor>{out};
  });
}

}  // namespace

// ---- binary arithmetic ------------------------------------------------------------------
Tensor Tensor::add(const Tensor& other, const Scalar& alpha) const {
  const Tensor b = scaled(*this, other, alpha, "add");
  return binary(BinaryOp::Add, this, &b, "add");
}
Tensor Tensor::add(const Scalar& other) const { return binary(BinaryOp::Add, this, other, "add"); }
Tensor Tensor::sub(const Tensor& other, const Scalar& alpha) const {
  check_sub_operands(this, &other, "sub");
  const Tensor b = scaled(*this, other, alpha, "sub");
  return binary(BinaryOp::Sub, this, &b, "sub");
}
Tensor Tensor::sub(const Scalar& other) const { return binary(BinaryOp::Sub, this, other, "sub"); }
Tensor Tensor::mul(const Tensor& other) const { return binary(BinaryOp::Mul, this, &other, "mul"); }
Tensor Tensor::mul(const Scalar& other) const { return binary(BinaryOp::Mul, this, other, "mul"); }
Tensor Tensor::div(const Tensor& other) const { return binary(BinaryOp::Div, this, &other, "div"); }
Tensor Tensor::div(const Scalar& other) const { return binary(BinaryOp::Div, this, other, "div"); }
Tensor Tensor::pow(const Tensor& e) const { return binary(BinaryOp::Pow, this, &e, "pow"); }
Tensor Tensor::pow(const Scalar& e) const { return binary(BinaryOp::Pow, this, e, "pow"); }
Tensor Tensor::minimum(const Tensor& o) const { return binary(BinaryOp::Minimum, this, &o, "minimum"); }
Tensor Tensor::maximum(const Tensor& o) const { return binary(BinaryOp::Maximum, this, &o, "maximum"); }

Tensor Tensor::eq(const Tensor& o) const { return binary(BinaryOp::Eq, this, &o, "eq"); }
Tensor Tensor::eq(const Scalar& o) const { return binary(BinaryOp::Eq, this, o, "eq"); }
Tensor Tensor::ne(const Tensor& o) const { return binary(BinaryOp::Ne, this, &o, "ne"); }
Tensor Tensor::ne(const Scalar& o) const { return binary(BinaryOp::Ne, this, o, "ne"); }
Tensor Tensor::lt(const Tensor& o) const { return binary(BinaryOp::Lt, this, &o, "lt"); }
Tensor Tensor::lt(const Scalar& o) const { return binary(BinaryOp::Lt, this, o, "lt"); }
Tensor Tensor::le(const Tensor& o) const { return binary(BinaryOp::Le, this, &o, "le"); }
Tensor Tensor::le(const Scalar& o) const { return binary(BinaryOp::Le, this, o, "le"); }
Tensor Tensor::gt(const Tensor& o) const { return binary(BinaryOp::Gt, this, &o, "gt"); }
Tensor Tensor::gt(const Scalar& o) const { return binary(BinaryOp::Gt, this, o, "gt"); }
Tensor Tensor::ge(const Tensor& o) const { return binary(BinaryOp::Ge, this, &o, "ge"); }
Tensor Tensor::ge(const Scalar& o) const { return binary(BinaryOp::Ge, this, o, "ge"); }
Tensor Tensor::logical_and(const Tensor& o) const { return binary(BinaryOp::LogicalAnd, this, &o, "logical_and"); }
Tensor Tensor::logical_or(const Tensor& o) const { return binary(BinaryOp::LogicalOr, this, &o, "logical_or"); }
Tensor Tensor::logical_xor(const Tensor& o) const { return binary(BinaryOp::LogicalXor, this, &o, "logical_xor"); }

Tensor& Tensor::add_(const Tensor& other, const Scalar& alpha) {
  const Tensor b = scaled(*this, other, alpha, "add_");
  binary(BinaryOp::Add, this, &b, "add_", this);
  return *this;
}
Tensor& Tensor::add_(const Scalar& o) { binary(BinaryOp::Add, this, o, "add_", this); return *this; }
Tensor& Tensor::sub_(const Tensor& other, const Scalar& alpha) {
  check_sub_operands(this, &other, "sub_");
  const Tensor b = scaled(*this, other, alpha, "sub_");
  binary(BinaryOp::Sub, this, &b, "sub_", this);
  return *this;
}
Tensor& Tensor::sub_(const Scalar& o) { binary(BinaryOp::Sub, this, o, "sub_", this); return *this; }
Tensor& Tensor::mul_(const Tensor& o) { binary(BinaryOp::Mul, this, &o, "mul_", this); return *this; }
Tensor& Tensor::mul_(const Scalar& o) { binary(BinaryOp::Mul, this, o, "mul_", this); return *this; }
Tensor& Tensor::div_(const Tensor& o) { binary(BinaryOp::Div, this, &o, "div_", this); return *this; }
Tensor& Tensor::div_(const Scalar& o) { binary(BinaryOp::Div, this, o, "div_", this); return *this; }
Tensor& Tensor::pow_(const Scalar& e) { binary(BinaryOp::Pow, this, e, "pow_", this); return *this; }

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) { return a.add(b, alpha); }
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) { return a.sub(b, alpha); }
Tensor mul(const Tensor& a, const Tensor& b) { return a.mul(b); }
Tensor div(const Tensor& a, const Tensor& b) { return a.div(b); }
Tensor pow(const Tensor& a, const Tensor& b) { return a.pow(b); }
Tensor pow(const Tensor& a, const Scalar& b) { return a.pow(b); }
Tensor pow(const Scalar& a, const Tensor& b) { return binary(BinaryOp::Pow, a, &b, "pow"); }
Tensor minimum(const Tensor& a, const Tensor& b) { return a.minimum(b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return a.maximum(b); }
Tensor operator-(const Scalar& a, const Tensor& b) { return binary(BinaryOp::Sub, a, &b, "sub"); }
Tensor operator/(const Scalar& a, const Tensor& b) { return binary(BinaryOp::Div, a, &b, "div"); }

// ---- unary ------------------------------------------------------------------------------
Tensor Tensor::neg() const { return unary(UnaryOp::Neg, *this, "neg"); }
Tensor Tensor::abs() const { return unary(UnaryOp::Abs, *this, "abs"); }
Tensor Tensor::exp() const { return unary(UnaryOp::Exp, *this, "exp"); }
Tensor Tensor::log() const { return unary(UnaryOp::Log, *this, "log"); }
Tensor Tensor::log1p() const { return unary(UnaryOp::Log1p, *this, "log1p"); }
Tensor Tensor::sqrt() const { return unary(UnaryOp::Sqrt, *this, "sqrt"); }
Tensor Tensor::rsqrt() const { return unary(UnaryOp::Rsqrt, *this, "rsqrt"); }
Tensor Tensor::sin() const { return unary(UnaryOp::Sin, *this, "sin"); }
Tensor Tensor::cos() const { return unary(UnaryOp::Cos, *this, "cos"); }
Tensor Tensor::tanh() const { return unary(UnaryOp::Tanh, *this, "tanh"); }
Tensor Tensor::sigmoid() const { return unary(UnaryOp::Sigmoid, *this, "sigmoid"); }
Tensor Tensor::relu() const { return unary(UnaryOp::Relu, *this, "relu"); }
Tensor Tensor::gelu(bool tanh_approximation) const {
  return unary(tanh_approximation ? UnaryOp::GeluTanh : UnaryOp::GeluErf, *this, "gelu");
}
Tensor Tensor::silu() const { return unary(UnaryOp::Silu, *this, "silu"); }
Tensor Tensor::square() const { return unary(UnaryOp::Square, *this, "square"); }
Tensor Tensor::erf() const { return unary(UnaryOp::Erf, *this, "erf"); }
Tensor Tensor::reciprocal() const { return unary(UnaryOp::Reciprocal, *this, "reciprocal"); }
Tensor Tensor::logical_not() const { return unary(UnaryOp::LogicalNot, *this, "logical_not"); }

Tensor& Tensor::neg_() { unary(UnaryOp::Neg, *this, "neg_", this); return *this; }
Tensor& Tensor::abs_() { unary(UnaryOp::Abs, *this, "abs_", this); return *this; }
Tensor& Tensor::exp_() { unary(UnaryOp::Exp, *this, "exp_", this); return *this; }
Tensor& Tensor::log_() { unary(UnaryOp::Log, *this, "log_", this); return *this; }
Tensor& Tensor::sqrt_() { unary(UnaryOp::Sqrt, *this, "sqrt_", this); return *this; }
Tensor& Tensor::tanh_() { unary(UnaryOp::Tanh, *this, "tanh_", this); return *this; }
Tensor& Tensor::sigmoid_() { unary(UnaryOp::Sigmoid, *this, "sigmoid_", this); return *this; }
Tensor& Tensor::relu_() { unary(UnaryOp::Relu, *this, "relu_", this); return *this; }

// ---- clamp, where, masks ----------------------------------------------------------------
Tensor Tensor::clamp(std::optional<Scalar> min, std::optional<Scalar> max) const {
  FULGUR_CHECK(min || max, "clamp", "at least one of 'min' or 'max' must not be None");
  if (min && max) return ternary(false, this, *min, *max, "clamp");
  // A missing bound is the dtype's extreme value, so that one formula (and one backward)
  // serves every case.
  const DType dtype = result_type({this, min ? *min : *max});
  const Scalar open_bound = visit_dtype(dtype, [&](auto tag) -> Scalar {
    using T = typename decltype(tag)::type;
    if constexpr (is_floating_v<T>) {
      return min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
    } else if constexpr (std::is_same_v<T, bool>) {
      return Scalar(min.has_value());
    } else {
      return min ? Scalar(static_cast<int64_t>(std::numeric_limits<T>::max()))
                 : Scalar(static_cast<int64_t>(std::numeric_limits<T>::lowest()));
    }
  });
  const Tensor lo = materialize(min ? *min : open_bound, dtype, device());
  const Tensor hi = materialize(max ? *max : open_bound, dtype, device());
  return ternary(false, this, &lo, &hi, "clamp");
}

Tensor Tensor::clamp(const Tensor& min, const Tensor& max) const {
  return ternary(false, this, &min, &max, "clamp");
}

Tensor& Tensor::clamp_(std::optional<Scalar> min, std::optional<Scalar> max) {
  // Recorded from a copy of the old value: the Clamp node saves its input, which the raw
  // form (clamp of *this written back into *this) would overwrite.
  return internal::apply_inplace(
      *this, {}, "clamp_", [&](const Tensor& old) { return old.clamp(min, max); },
      [&] { assign_result(*this, clamp(min, max), "clamp_"); });
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  return x.clamp(min, max);
}

Tensor where(const Tensor& c, const Tensor& a, const Tensor& b) { return ternary(true, &c, &a, &b, "where"); }
Tensor where(const Tensor& c, const Scalar& a, const Tensor& b) { return ternary(true, &c, a, &b, "where"); }
Tensor where(const Tensor& c, const Tensor& a, const Scalar& b) { return ternary(true, &c, &a, b, "where"); }
Tensor where(const Tensor& c, const Scalar& a, const Scalar& b) { return ternary(true, &c, a, b, "where"); }

Tensor& Tensor::masked_fill_(const Tensor& mask, const Scalar& value) {
  FULGUR_CHECK(mask.dtype() == DType::Bool, "masked_fill_", "mask must be a bool tensor, got ", mask.dtype());
  const Shape shape = broadcast_shapes(sizes(), mask.sizes(), "masked_fill_");
  FULGUR_CHECK(IntArrayRef(shape) == sizes(), "masked_fill_", "mask of shape ", shape_str(mask.sizes()),
               " cannot be broadcast to the tensor's shape ", shape_str(sizes()));
  FULGUR_CHECK(!(value.is_floating() && !is_floating(dtype())), "masked_fill_", "value ", value,
               " cannot be converted to ", dtype(), " without overflow or truncation");
  if (numel() == 0) return *this;
  const Tensor m = mask.to(device());
  const Tensor v = materialize(value, dtype(), device());
  return internal::apply_inplace(
      *this, {}, "masked_fill_", [&](const Tensor& old) { return where(m, v, old); },
      [&] {
        internal::check_no_internal_overlap(*this, "masked_fill_");
        bump_version();
        // where(mask, value, self) written over self: each element reads only its own position.
        auto args = internal::elementwise_args(*this, {m, v, *this}, "masked_fill_");
        internal::table(*this, "masked_fill_").where(args);
      });
}

Tensor Tensor::masked_fill(const Tensor& mask, const Scalar& value) const {
  Tensor out = clone();
  out.masked_fill_(mask, value);
  return out;
}

// ---- comparisons of whole tensors -------------------------------------------------------
Tensor isnan(const Tensor& x) { return x.ne(x); }

Tensor isfinite(const Tensor& x) {
  if (!x.is_floating_point()) return ones_like(x, DType::Bool);
  return x.eq(x).logical_and(x.abs().ne(std::numeric_limits<double>::infinity()));
}

Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  const DType dtype = result_type(a, b);
  Tensor close = a.eq(b);
  // Integers and bools use the tolerances too (as in PyTorch), computed in float64 so that
  // a - b cannot wrap around.
  const DType compute = is_floating(dtype) ? dtype : DType::Float64;
  const Tensor fa = a.to(compute), fb = b.to(compute);
  const Tensor tol = fb.abs().mul(rtol).add(atol);
  const Tensor diff = fa.sub(fb).abs();
  // An infinite difference is never close, even against an infinite tolerance (1 vs inf).
  close = close.logical_or(diff.le(tol).logical_and(isfinite(diff)));
  if (equal_nan && is_floating(dtype)) close = close.logical_or(isnan(fa).logical_and(isnan(fb)));
  return close;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  return isclose(a, b, rtol, atol, equal_nan).all().item<bool>();
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes()) return false;
  return a.eq(b).all().item<bool>();
}

}  // namespace fulgur
