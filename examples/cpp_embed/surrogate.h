// The surrogate: an MLP that advances one grid point by one time step from its 5-point
// neighbourhood (stencil_samples.h's features), as a LightningModule the host-driven Trainer
// runs. It predicts the change: u^{n+1} = centre + mlp(features), so an untrained network
// starts near "nothing changes" and learns the (small) update.
#pragma once

#include <fulgur/fulgur.h>

#include <cstdint>
#include <memory>
#include <string>

namespace cpp_embed {

namespace L = fulgur::lightning;
namespace nn = fulgur::nn;
using fulgur::Tensor;

class StencilSurrogate : public L::LightningModule {
 public:
  StencilSurrogate(int64_t hidden, double lr);
  Tensor forward(const Tensor& x) override;
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override;
  void validation_step(const L::Batch& batch, int64_t batch_idx) override;
  L::OptimizerConfig configure_optimizers() override;

 private:
  double lr_;
  std::shared_ptr<nn::Linear> in_, mid_, out_;
};

// FNV-1a (64 bits) over the bytes of every parameter, in named_parameters() order: equal
// checksums mean bit-identical weights.
uint64_t parameter_checksum(const nn::Module& module);

}  // namespace cpp_embed
