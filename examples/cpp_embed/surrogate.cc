#include "surrogate.h"

#include <cstring>
#include <vector>

#include "stencil_samples.h"

using namespace fulgur;

namespace cpp_embed {

StencilSurrogate::StencilSurrogate(int64_t hidden, double lr) : lr_(lr) {
  // The same initial weights on every rank and every run (DDP broadcasts rank 0's anyway).
  manual_seed(1234);
  in_ = register_module("in", nn::Linear(kFeatures, hidden));
  mid_ = register_module("mid", nn::Linear(hidden, hidden));
  out_ = register_module("out", nn::Linear(hidden, 1));
}

Tensor StencilSurrogate::forward(const Tensor& x) {
  const Tensor h = (*mid_)((*in_)(x).tanh()).tanh();
  return x.narrow(1, 0, 1) + (*out_)(h);  // centre value + predicted change
}

L::StepOutput StencilSurrogate::training_step(const L::Batch& batch, int64_t) {
  auto [x, y] = batch.unpack<2>();
  Tensor loss = F::mse_loss(forward(x), y);
  log("train_loss", loss, {.on_step = true, .sync_dist = true});
  return loss;
}

void StencilSurrogate::validation_step(const L::Batch& batch, int64_t) {
  auto [x, y] = batch.unpack<2>();
  log("val_loss", F::mse_loss(forward(x), y), {.sync_dist = true});
}

L::OptimizerConfig StencilSurrogate::configure_optimizers() {
  return std::make_shared<optim::Adam>(parameters(), optim::AdamOptions{.lr = lr_});
}

uint64_t parameter_checksum(const nn::Module& module) {
  uint64_t hash = 1469598103934665603ull;
  for (const auto& [name, p] : module.named_parameters()) {
    const std::vector<float> values = p.to_vector<float>();
    std::vector<unsigned char> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    for (const unsigned char b : bytes) {
      hash ^= b;
      hash *= 1099511628211ull;
    }
  }
  return hash;
}

}  // namespace cpp_embed
