#include "fulgur/nn/functional/dropout.h"

#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur::nn::functional {

Tensor dropout(const Tensor& x, double p, bool training, bool inplace, Generator* generator) {
  FULGUR_CHECK(p >= 0 && p <= 1, "dropout", "dropout probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0 || x.numel() == 0) return x;
  FULGUR_CHECK(x.is_floating_point(), "dropout", "expected a floating-point input, got ", x.dtype());
  TracedComposite trace;  // random: an exporter must see "dropout", not a constant mask
  Tensor out;
  if (p == 1) {
    out = zeros_like(x);
  } else {
    // PyTorch's form: x * (bernoulli(1 - p) / (1 - p)).
    const Tensor noise = bernoulli(x.sizes(), 1 - p, {.dtype = x.dtype(), .device = x.device()}, generator)
                             .div(1 - p);
    // inplace: multiply a clone, so that the backward never reads the overwritten x.
    out = (inplace ? x.clone() : x).mul(noise);
  }
  if (trace.active()) trace.record("dropout", {x}, {{"p", p}}, {out});
  if (!inplace) return out;
  Tensor y = x;
  y.copy_(out);
  return y;
}

}  // namespace fulgur::nn::functional
