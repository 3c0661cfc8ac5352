#include "fulgur/trainer/strategy.h"

#include <cstdio>
#include <cstdlib>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/lightning_module.h"
#include "fulgur/trainer/precision.h"

namespace fulgur::lightning {

void Strategy::setup(LightningModule& module) {
  if (accelerator_) accelerator_->setup_device(root_device());
  model_to_device(module);
}

void Strategy::teardown() {
  if (accelerator_) accelerator_->teardown();
}

Batch Strategy::batch_to_device(LightningModule& module, Batch batch, int64_t dataloader_idx) {
  return module.transfer_batch_to_device(std::move(batch), root_device(), dataloader_idx);
}

void Strategy::backward(const Tensor& closure_loss, LightningModule& module, optim::Optimizer*) {
  pre_backward(closure_loss, module);
  module.backward(precision_plugin_ ? precision_plugin_->pre_backward(closure_loss) : closure_loss);
  post_backward(closure_loss, module);
}

Tensor Strategy::optimizer_step(optim::Optimizer& optimizer, const std::function<Tensor()>& closure) {
  if (precision_plugin_) return precision_plugin_->optimizer_step(optimizer, closure);
  if (!closure) {
    optimizer.step();
    return Tensor();
  }
  return optimizer.step(closure);
}

void Strategy::abort(int exit_code, const std::string& why) {
  std::fprintf(stderr, "fulgur: aborting: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(exit_code);
}

void SingleDeviceStrategy::model_to_device(LightningModule& module) { module.to(device_); }

Tensor SingleDeviceStrategy::reduce(const Tensor& tensor, const std::string& reduce_op) {
  FULGUR_CHECK(reduce_op == "mean" || reduce_op == "sum", "Strategy.reduce", "reduce_op=\"", reduce_op,
               "\" is not supported; use \"mean\" or \"sum\"");
  return tensor;  // one process: its value is the reduction
}

}  // namespace fulgur::lightning
