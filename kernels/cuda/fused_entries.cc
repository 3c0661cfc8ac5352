#include "fulgur/kernels/cuda/fused_entries.h"

#include <vector>

#include "fulgur/kernels/cuda/adam.h"
#include "fulgur/kernels/cuda/amp.h"
#include "fulgur/kernels/cuda/cross_entropy.h"
#include "fulgur/kernels/cuda/layer_norm.h"
#include "fulgur/kernels/error.h"

namespace fulgur::cuda {
namespace {

void check_float32(DType dtype, const char* op) {
  FULGUR_CHECK(dtype == DType::Float32, op, "internal: the fused CUDA kernels take float32, got ", dtype,
               "; hint: test the table's supports_* entry first");
}

const float* f(const char* p) { return reinterpret_cast<const float*>(p); }
float* f(char* p) { return reinterpret_cast<float*>(p); }

CrossEntropyArgs ce_args(const kernels::CrossEntropyArgs& a) {
  check_float32(a.dtype, "cross_entropy");
  CrossEntropyArgs c;
  c.logits = f(a.logits);
  c.target = a.target;
  c.weight = f(a.weight);
  c.rows = a.rows;
  c.classes = a.classes;
  c.ignore_index = a.ignore_index;
  c.label_smoothing = static_cast<float>(a.label_smoothing);
  c.bad_target = a.bad_target;
  return c;
}

}  // namespace

bool fused_supports(DType dtype) { return dtype == DType::Float32; }

template <Exec E>
void fused_cross_entropy_forward(const kernels::CrossEntropyArgs& a, void* stream) {
  cross_entropy_forward<E>(ce_args(a), f(a.loss), f(a.lse), f(a.row_weight), stream);
}

template <Exec E>
void fused_cross_entropy_backward(const kernels::CrossEntropyArgs& a, void* stream) {
  cross_entropy_backward<E>(ce_args(a), f(a.lse), f(a.grad_rows), f(a.dlogits), stream);
}

template <Exec E>
void fused_layer_norm_forward(const kernels::LayerNormArgs& a, void* stream) {
  check_float32(a.dtype, "layer_norm");
  layer_norm_forward<E>(f(a.x), f(a.gamma), f(a.beta), f(a.y), f(a.mean), f(a.rstd), a.rows, a.cols,
                        static_cast<float>(a.eps), stream);
}

template <Exec E>
void fused_layer_norm_backward(const kernels::LayerNormArgs& a, void* stream) {
  check_float32(a.dtype, "layer_norm backward");
  layer_norm_backward<E>(f(a.x), f(a.dy), f(a.gamma), f(a.mean), f(a.rstd), f(a.dx), f(a.dgamma), f(a.dbeta),
                         /*workspace: the launcher's own*/ nullptr, a.rows, a.cols, stream);
}

template <Exec E>
void fused_adam_step(const kernels::AdamArgs& a, void* stream) {
  check_float32(a.dtype, "Adam");
  std::vector<AdamTensor> tensors;
  tensors.reserve(static_cast<size_t>(a.count));
  for (int64_t i = 0; i < a.count; ++i) {
    const kernels::AdamTensorArgs& t = a.tensors[i];
    tensors.push_back({f(t.param), f(t.grad), f(t.exp_avg), f(t.exp_avg_sq), t.numel});
  }
  const AdamHyper hyper{.lr = a.lr, .beta1 = a.beta1, .beta2 = a.beta2, .eps = a.eps, .weight_decay = a.weight_decay,
                        .step = a.step, .decoupled = a.decoupled, .maximize = a.maximize};
  adam_step<E>(tensors, hyper, stream);
}

template <Exec E>
void fused_unscale_and_check_finite(const kernels::UnscaleArgs& a, void* stream) {
  check_float32(a.dtype, "GradScaler.unscale_");
  std::vector<FloatSpan> grads;
  grads.reserve(static_cast<size_t>(a.count));
  for (int64_t i = 0; i < a.count; ++i) grads.push_back({f(a.grads[i]), a.numel[i]});
  // The float32 value PyTorch multiplies by (the reciprocal is taken in float32 by the caller).
  unscale_and_check_finite<E>(grads, static_cast<float>(a.inv_scale), f(a.found_inf), stream);
}

#define FULGUR_FUSED_ENTRIES(E)                                                                     \
  template void fused_cross_entropy_forward<E>(const kernels::CrossEntropyArgs&, void*);            \
  template void fused_cross_entropy_backward<E>(const kernels::CrossEntropyArgs&, void*);           \
  template void fused_layer_norm_forward<E>(const kernels::LayerNormArgs&, void*);                  \
  template void fused_layer_norm_backward<E>(const kernels::LayerNormArgs&, void*);                 \
  template void fused_adam_step<E>(const kernels::AdamArgs&, void*);                                \
  template void fused_unscale_and_check_finite<E>(const kernels::UnscaleArgs&, void*);

FULGUR_FUSED_ENTRIES(Exec::Emulated)
#if FULGUR_WITH_CUDA
FULGUR_FUSED_ENTRIES(Exec::Gpu)
#endif
#undef FULGUR_FUSED_ENTRIES

}  // namespace fulgur::cuda
