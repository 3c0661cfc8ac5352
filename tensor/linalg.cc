// matmul / mm / bmm / addmm / linear, all through one batched GEMM launch. Transposed and
// otherwise strided operands are passed to the kernel as they are whenever one of their
// two strides is 1 (x.t() costs no copy); batch dims broadcast through per-batch offsets.
#include <numeric>
#include <optional>

#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur {
namespace {

struct MatrixLayout {
  Tensor t;  // the tensor actually passed (possibly made contiguous)
  int64_t rs = 0, cs = 0;
};

// Strides of the last two dims in a form the GEMM kernel accepts, copying only if needed.
MatrixLayout matrix_layout(const Tensor& x) {
  const int64_t rows = x.size(-2), cols = x.size(-1);
  const int64_t rs = x.stride(-2), cs = x.stride(-1);
  if ((cs == 1 || cols <= 1) && rs >= std::max<int64_t>(cols, 1)) return {x, rs, 1};
  if ((rs == 1 || rows <= 1) && cs >= std::max<int64_t>(rows, 1)) return {x, 1, cs};
  Tensor c = x.contiguous();
  return {c, std::max<int64_t>(cols, 1), 1};
}

void check_matmul_dtypes(const Tensor& a, const Tensor& b, const char* op) {
  internal::check_same_device(op, {&a, &b});
  FULGUR_CHECK(a.dtype() == b.dtype(), op, "expected both operands to have the same dtype, but got ",
               a.dtype(), " and ", b.dtype(), "; hint: convert one with .to(dtype)");
  FULGUR_CHECK(a.dtype() != DType::Bool, op, "not implemented for bool tensors; hint: convert with "
               ".to(kFloat32)");
}

// out[batch..., m, n] (contiguous, pre-filled when beta != 0) = alpha * a @ b + beta * out,
// where a is [batch_a..., m, k] and b is [batch_b..., k, n] broadcast to out's batch dims.
void batched_gemm(const Tensor& a_in, const Tensor& b_in, Tensor& out, double alpha, double beta,
                  const char* op) {
  const MatrixLayout a = matrix_layout(a_in);
  const MatrixLayout b = matrix_layout(b_in);
  const int64_t nd = out.dim();
  const Shape batch_shape(out.sizes().begin(), out.sizes().end() - 2);
  const int64_t batch = numel_of(batch_shape);
  if (out.numel() == 0) return;

  auto batch_strides = [&](const Tensor& t) {
    Shape full(batch_shape.size(), 0);
    const int64_t tb = t.dim() - 2;
    for (int64_t i = 0; i < tb; ++i) {
      const int64_t d = static_cast<int64_t>(batch_shape.size()) - tb + i;
      full[d] = t.sizes()[i] == 1 ? 0 : t.strides()[i];
    }
    return full;
  };
  const Shape sa = batch_strides(a.t), sb = batch_strides(b.t), sc = batch_strides(out);
  std::vector<int64_t> ao(batch > 1 ? batch : 0), bo(ao.size()), co(ao.size());
  const int64_t es = static_cast<int64_t>(out.element_size());
  for (int64_t i = 0; i < static_cast<int64_t>(ao.size()); ++i) {
    int64_t rem = i, oa = 0, ob = 0, oc = 0;
    for (int64_t d = static_cast<int64_t>(batch_shape.size()) - 1; d >= 0; --d) {
      const int64_t idx = rem % batch_shape[d];
      rem /= batch_shape[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
      oc += idx * sc[d];
    }
    ao[i] = oa * es;
    bo[i] = ob * es;
    co[i] = oc * es;
  }
  kernels::GemmArgs g;
  g.dtype = out.dtype();
  g.m = out.size(nd - 2);
  g.n = out.size(nd - 1);
  g.k = a_in.size(-1);
  g.a = static_cast<const char*>(a.t.data_ptr());
  g.a_rs = a.rs;
  g.a_cs = a.cs;
  g.b = static_cast<const char*>(b.t.data_ptr());
  g.b_rs = b.rs;
  g.b_cs = b.cs;
  g.c = static_cast<char*>(out.data_ptr());
  g.c_rs = g.n;
  g.alpha = alpha;
  g.beta = beta;
  g.batch = batch;
  if (batch > 1) {  // a single product needs no offsets (and no vectors: small GEMMs are hot)
    g.a_offsets = ao.data();
    g.b_offsets = bo.data();
    g.c_offsets = co.data();
  }
  internal::table(out, op).gemm(g);
}

}  // namespace

Tensor Tensor::mm(const Tensor& other) const {
  FULGUR_CHECK(dim() == 2 && other.dim() == 2, "mm", "expected 2-D tensors, got shapes ",
               shape_str(sizes()), " and ", shape_str(other.sizes()), "; hint: use matmul for batches");
  return matmul(other);
}

Tensor Tensor::bmm(const Tensor& other) const {
  FULGUR_CHECK(dim() == 3 && other.dim() == 3 && size(0) == other.size(0), "bmm",
               "expected 3-D tensors with equal batch size, got shapes ", shape_str(sizes()), " and ",
               shape_str(other.sizes()));
  return matmul(other);
}

Tensor Tensor::matmul(const Tensor& other) const {
  if (is_autocast_enabled(device().type)) {  // in autocast's lower-precision list
    const Tensor a = autocast::to_lower(*this), b = autocast::to_lower(other);
    if (a.dtype() != dtype() || b.dtype() != other.dtype()) return a.matmul(b);
  }
  check_matmul_dtypes(*this, other, "matmul");
  FULGUR_CHECK(dim() >= 1 && other.dim() >= 1, "matmul", "both arguments need at least 1 dimension, got shapes ",
               shape_str(sizes()), " and ", shape_str(other.sizes()));
  // 1-D operands become a row (left) or column (right) and that dim is dropped after.
  const Tensor a = dim() == 1 ? unsqueeze(0) : *this;
  const Tensor b = other.dim() == 1 ? other.unsqueeze(1) : other;
  FULGUR_CHECK(a.size(-1) == b.size(-2), "matmul", "shapes ", shape_str(sizes()), " and ",
               shape_str(other.sizes()), " cannot be multiplied (", a.size(-2), "x", a.size(-1),
               " and ", b.size(-2), "x", b.size(-1), ")");
  const Shape batch = broadcast_shapes(IntArrayRef(a.sizes().data(), a.dim() - 2),
                                       IntArrayRef(b.sizes().data(), b.dim() - 2), "matmul");
  Shape out_shape = batch;
  out_shape.push_back(a.size(-2));
  out_shape.push_back(b.size(-1));
  Tensor out = record_op1(OpId::Matmul, {a, b}, {}, [&] {
    Tensor c = make_tensor(out_shape, dtype(), device());
    batched_gemm(a, b, c, 1.0, 0.0, "matmul");
    return std::vector<Tensor>{c};
  });
  if (dim() == 1) out = out.squeeze(-2);
  if (other.dim() == 1) out = out.squeeze(-1);
  return out;
}

Tensor addmm(const Tensor& input, const Tensor& m1, const Tensor& m2, const Scalar& beta,
             const Scalar& alpha) {
  if (is_autocast_enabled(m1.device().type)) {  // in autocast's lower-precision list
    const Tensor i = autocast::to_lower(input), a = autocast::to_lower(m1), b = autocast::to_lower(m2);
    if (i.dtype() != input.dtype() || a.dtype() != m1.dtype() || b.dtype() != m2.dtype())
      return addmm(i, a, b, beta, alpha);
  }
  FULGUR_CHECK(m1.dim() == 2 && m2.dim() == 2, "addmm", "expected 2-D matrices, got shapes ",
               shape_str(m1.sizes()), " and ", shape_str(m2.sizes()));
  check_matmul_dtypes(m1, m2, "addmm");
  FULGUR_CHECK(m1.size(1) == m2.size(0), "addmm", "shapes ", shape_str(m1.sizes()), " and ",
               shape_str(m2.sizes()), " cannot be multiplied");
  FULGUR_CHECK(input.dtype() == m1.dtype(), "addmm", "input dtype ", input.dtype(),
               " differs from the matrices' ", m1.dtype());
  const double b = beta.to_double();
  if (should_record({&input, &m1, &m2})) {
    // Recorded as its parts; the fused form below is the fast path without autograd.
    Tensor prod = m1.matmul(m2);
    if (alpha.to_double() != 1.0) prod = prod.mul(alpha);
    if (b == 0.0) return prod;
    return b == 1.0 ? prod.add(input) : prod.add(input.mul(beta));
  }
  Tensor out = b == 0.0 ? make_tensor({m1.size(0), m2.size(1)}, m1.dtype(), m1.device())
                        : input.expand({m1.size(0), m2.size(1)}).clone();
  batched_gemm(m1, m2, out, alpha.to_double(), b, "addmm");
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (is_autocast_enabled(x.device().type)) {  // in autocast's lower-precision list
    const Tensor xl = autocast::to_lower(x), wl = autocast::to_lower(weight), bl = autocast::to_lower(bias);
    if (xl.dtype() != x.dtype() || wl.dtype() != weight.dtype() || (bias.defined() && bl.dtype() != bias.dtype()))
      return linear(xl, wl, bl);
  }
  FULGUR_CHECK(weight.dim() == 2, "linear", "weight must be 2-D [out_features, in_features], got ",
               shape_str(weight.sizes()));
  FULGUR_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear", "input of shape ",
               shape_str(x.sizes()), " does not end in in_features = ", weight.size(1),
               " (weight ", shape_str(weight.sizes()), ")");
  check_matmul_dtypes(x, weight, "linear");
  // A 2-D input is traced as the Linear primitive itself; another rank as one "linear" (an
  // exporter's MatMul), so that no reshape merges the leading (maybe dynamic) dims.
  std::optional<TracedComposite> trace;
  if (x.dim() != 2 && tracing_active()) trace.emplace();
  const Tensor x2 = x.reshape({-1, x.size(-1)});
  std::vector<Tensor> inputs = {x2, weight};
  if (bias.defined()) {
    FULGUR_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear", "bias must have shape [",
                 weight.size(0), "], got ", shape_str(bias.sizes()));
    inputs.push_back(bias.to(x.dtype()));
  }
  const Tensor out = record_op(OpId::Linear, inputs, {}, [&] {
    // The fused form: out = bias (broadcast) then one GEMM with beta = 1.
    Tensor y = bias.defined() ? inputs[2].expand({x2.size(0), weight.size(0)}).clone()
                              : make_tensor({x2.size(0), weight.size(0)}, x.dtype(), x.device());
    batched_gemm(x2, weight.t(), y, 1.0, bias.defined() ? 1.0 : 0.0, "linear");
    return std::vector<Tensor>{y};
  })[0];
  Shape shape = x.sizes().vec();
  shape.back() = weight.size(0);
  Tensor y = out.view(shape);
  if (trace) trace->record("linear", {x, weight, bias}, {}, {y});
  return y;
}

}  // namespace fulgur
