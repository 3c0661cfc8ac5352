// MatMul (NumPy matmul) and Gemm (alpha * A' B' + beta * C; C optional from opset 11,
// opset < 7's broadcast attribute on C is NumPy-compatible).
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {

void register_linalg_ops(OpRegistry& r) {
  r["MatMul"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    return {ctx.input(0).matmul(ctx.input(1))};
  };
  r["Gemm"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    Tensor a = ctx.input(0), b = ctx.input(1);
    ctx.check(a.dim() == 2 && b.dim() == 2, "A and B must be 2-D");
    if (ctx.attr_int("transA", 0) != 0) a = a.t();
    if (ctx.attr_int("transB", 0) != 0) b = b.t();
    const double alpha = ctx.attr_float("alpha", 1.0f);
    const double beta = ctx.attr_float("beta", 1.0f);
    Tensor y = a.matmul(b);
    if (alpha != 1.0) y = y.mul(alpha);
    if (ctx.has_input(2) && beta != 0.0) {
      const Tensor& c = ctx.input(2);
      y = y.add(beta == 1.0 ? c : c.mul(beta));
    }
    return {y.contiguous()};
  };
}

}  // namespace fulgur::onnx
