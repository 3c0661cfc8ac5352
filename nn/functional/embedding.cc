#include "fulgur/nn/functional/embedding.h"

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur::nn::functional {

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options) {
  FULGUR_CHECK(weight.dim() == 2, "embedding", "weight must be 2-D [num_embeddings, embedding_dim], got ",
               shape_str(weight.sizes()));
  FULGUR_CHECK(input.dtype() == DType::Int64 || input.dtype() == DType::Int32, "embedding",
               "expected indices of dtype int64 or int32, got ", input.dtype(),
               "; hint: convert with .to(kInt64)");
  const int64_t num = weight.size(0);
  TracedComposite trace;  // an exporter sees one lookup (ONNX Gather on the indices as given)
  const Tensor idx = input.to(DType::Int64).reshape({-1});
  if (idx.numel() > 0) {
    const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
    FULGUR_CHECK(lo >= 0 && hi < num, "embedding", "index out of range in self: indices must be in [0, ",
                 num, "), got ", lo < 0 ? lo : hi, " (weight ", shape_str(weight.sizes()), ")");
  }
  std::optional<int64_t> pad = options.padding_idx;
  if (pad) {
    FULGUR_CHECK(*pad >= -num && *pad < num, "embedding", "padding_idx must be within num_embeddings (",
                 num, "), got ", *pad);
    if (*pad < 0) *pad += num;
  }
  if (options.max_norm && idx.numel() > 0) {
    // embedding_renorm_: every looked-up row whose norm exceeds max_norm is scaled to it.
    NoGradGuard no_grad;
    const Tensor used = zeros({num}, {.dtype = DType::Bool, .device = weight.device()})
                            .scatter(0, idx, Scalar(true));
    const Tensor norms = weight.detach().norm(options.norm_type, {1}, true);
    const Tensor scale = where(used.unsqueeze(1).logical_and(norms.gt(*options.max_norm)),
                               norms.add(1e-7).reciprocal().mul(*options.max_norm), Scalar(1.0));
    Tensor w = weight;
    w.mul_(scale.to(weight.dtype()));
  }
  Tensor out = weight.index_select(0, idx);
  // Only the gradient changes, so only when one will be computed (and an exporter's trace,
  // which runs without grad, sees the plain lookup).
  if ((pad || options.scale_grad_by_freq) && grad_mode_enabled() && weight.requires_grad()) {
    // Scale the gradient per looked-up row without changing the value:
    // out.detach() + (out - out.detach()) * s is out exactly, and its gradient is s.
    Tensor s = ones({idx.numel()}, {.dtype = weight.dtype(), .device = weight.device()});
    if (options.scale_grad_by_freq) {
      const Tensor counts = zeros({num}, {.dtype = weight.dtype(), .device = weight.device()})
                                .scatter_add(0, idx, s);
      s = counts.index_select(0, idx).reciprocal();
    }
    if (pad) s = s.masked_fill(idx.eq(*pad), 0);
    const Tensor d = out.detach();
    out = d.add(out.sub(d).mul(s.unsqueeze(1)));
  }
  Shape shape = input.sizes().vec();
  shape.push_back(weight.size(1));
  out = out.view(shape);
  if (trace.active()) {
    TraceAttrs attrs;
    if (options.max_norm) attrs.push_back({"max_norm", *options.max_norm});
    trace.record("embedding", {weight, input}, attrs, {out});
  }
  return out;
}

}  // namespace fulgur::nn::functional
