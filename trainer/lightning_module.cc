#include "fulgur/trainer/lightning_module.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "fulgur/nn/clip_grad.h"
#include "fulgur/nn/onnx/export.h"
#include "fulgur/trainer/callback.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

StepOutput LightningModule::training_step(const Batch&, int64_t) { throw detail::HookNotOverridden{"training_step"}; }
void LightningModule::validation_step(const Batch&, int64_t) { throw detail::HookNotOverridden{"validation_step"}; }
void LightningModule::test_step(const Batch&, int64_t) { throw detail::HookNotOverridden{"test_step"}; }

Tensor LightningModule::predict_step(const Batch& batch, int64_t) { return forward(batch.tensor(0)); }

OptimizerConfig LightningModule::configure_optimizers() {
  FULGUR_FAIL("configure_optimizers", "No `configure_optimizers()` method defined. Lightning `Trainer` expects as "
              "minimum a `training_step()`, `train_dataloader()` and `configure_optimizers()` to be defined; hint: "
              "override configure_optimizers() in ", name());
}

Loaders LightningModule::train_dataloader() { throw detail::HookNotOverridden{"train_dataloader"}; }
Loaders LightningModule::val_dataloader() { throw detail::HookNotOverridden{"val_dataloader"}; }
Loaders LightningModule::test_dataloader() { throw detail::HookNotOverridden{"test_dataloader"}; }
Loaders LightningModule::predict_dataloader() { throw detail::HookNotOverridden{"predict_dataloader"}; }

Batch LightningModule::transfer_batch_to_device(Batch batch, Device device, int64_t) {
  if (device == kCPU) return batch;  // batches are built on the CPU: nothing to move
  // non_blocking, as Lightning's move_data_to_device: asynchronous from pinned batches
  // (DataLoader's pin_memory=true), an ordinary copy otherwise.
  return Batch(map_tensors(batch.value(), [device](const Tensor& t) {
    return t.to(device, Tensor::ToOptions{.non_blocking = true});
  }));
}

void LightningModule::log(const std::string& name, const LogValue& value, const LogOptions& options) {
  if (trainer_ == nullptr) {
    rank_zero_printf(
        "warning: You are trying to `self.log()` but the `self.trainer` reference is not registered on "
        "the model yet (log(\"%s\") ignored)\n",
        name.c_str());
    return;
  }
  trainer_->module_log(name, value, options);
}

void LightningModule::log_dict(const std::vector<std::pair<std::string, LogValue>>& values,
                               const LogOptions& options) {
  for (const auto& [name, value] : values) log(name, value, options);
}

Trainer& LightningModule::trainer() const {
  FULGUR_CHECK(trainer_ != nullptr, "LightningModule.trainer", name(),
               " is not attached to a `Trainer`; hint: call it from a hook during trainer.fit/validate/test/predict");
  return *trainer_;
}

// Lightning's self.device follows the module's .to(): where its tensors are. A module without
// any takes the run's root device (the strategy moves it there), or the CPU outside a run.
Device LightningModule::device() const {
  for (const Tensor& p : parameters()) return p.device();
  for (const Tensor& b : buffers()) return b.device();
  return trainer_ ? trainer_->root_device() : kCPU;
}

void LightningModule::optimizer_step(int64_t, int64_t, optim::Optimizer& optimizer,
                                     const std::function<Tensor()>& closure) {
  if (trainer_ != nullptr) trainer_->strategy().optimizer_step(optimizer, closure);
  else optimizer.step(closure);
}

int64_t LightningModule::current_epoch() const { return trainer_ ? trainer_->current_epoch() : 0; }
int64_t LightningModule::global_step() const { return trainer_ ? trainer_->global_step() : 0; }

LightningOptimizer& LightningOptimizers::only(const char* method) {
  FULGUR_CHECK(size() == 1, "LightningModule.optimizers", "`optimizers().", method, "()` needs exactly one "
               "optimizer, but configure_optimizers returned ", size(), "; hint: pick one, `optimizers()[i].", method,
               "()`");
  return front();
}

LightningOptimizers LightningModule::optimizers() {
  LightningOptimizers out;
  for (const auto& o : trainer().optimizers()) out.emplace_back(*this, *o);
  return out;
}

LightningOptimizer LightningModule::optimizer(size_t i) {
  const auto& opts = trainer().optimizers();
  FULGUR_CHECK(i < opts.size(), "LightningModule.optimizers", "optimizer ", i, " requested, configure_optimizers "
               "returned ", opts.size());
  return LightningOptimizer(*this, *opts[i]);
}

std::vector<Scheduler> LightningModule::lr_schedulers() {
  std::vector<Scheduler> out;
  for (const LRSchedulerConfig& c : trainer().lr_scheduler_configs()) out.push_back(c.scheduler);
  return out;
}

void LightningModule::manual_backward(const Tensor& loss) {
  Trainer& t = trainer();
  FULGUR_CHECK(!automatic_optimization_, "manual_backward",
               "manual_backward is for manual optimization; hint: call automatic_optimization(false) first");
  const std::string fx = t.current_fx_;
  // Lightning calls strategy.backward directly here (no "[Strategy]...backward" action).
  t.set_fx("on_before_backward");
  t.callbacks_do([&](Callback& c) { c.on_before_backward(t, *this, loss); });
  t.module_do([&] { on_before_backward(loss); });
  t.set_fx("backward");
  t.strategy().backward(loss, *this, nullptr);
  t.set_fx("on_after_backward");
  t.callbacks_do([&](Callback& c) { c.on_after_backward(t, *this); });
  t.module_do([&] { on_after_backward(); });
  t.set_fx(fx);
}

void LightningModule::toggle_optimizer(optim::Optimizer& optimizer) {
  toggled_.clear();
  std::vector<const TensorImpl*> seen;
  for (const auto& opt : trainer().optimizers()) {
    for (const optim::ParamGroup& g : opt->param_groups()) {
      for (const Tensor& p : g.params) {
        if (std::find(seen.begin(), seen.end(), p.impl_ptr().get()) != seen.end()) continue;
        seen.push_back(p.impl_ptr().get());
        toggled_.emplace_back(p, p.requires_grad());
        Tensor(p).requires_grad_(false);
      }
    }
  }
  for (const optim::ParamGroup& g : optimizer.param_groups()) {
    for (const Tensor& p : g.params) {
      for (const auto& [saved, was] : toggled_) {
        if (saved.impl_ptr() == p.impl_ptr()) Tensor(p).requires_grad_(was);
      }
    }
  }
}

void LightningModule::untoggle_optimizer(optim::Optimizer&) {
  for (auto& [p, was] : toggled_) p.requires_grad_(was);
  toggled_.clear();
}

void LightningModule::clip_gradients(optim::Optimizer& optimizer, std::optional<double> gradient_clip_val,
                                     std::optional<std::string> gradient_clip_algorithm) {
  if (!gradient_clip_val || *gradient_clip_val == 0) return;
  const std::string algo = gradient_clip_algorithm.value_or("norm");
  FULGUR_CHECK(algo == "norm" || algo == "value", "clip_gradients", "`gradient_clip_algorithm` ", algo,
               " is invalid. Allowed algorithms: ['value', 'norm']");
  std::vector<Tensor> params;
  for (const optim::ParamGroup& g : optimizer.param_groups()) {
    for (const Tensor& p : g.params) params.push_back(p);
  }
  if (algo == "norm") nn::utils::clip_grad_norm_(params, *gradient_clip_val);
  else nn::utils::clip_grad_value_(params, *gradient_clip_val);
}

void LightningModule::to_onnx(const std::string& path, const Tensor& sample_input,
                              const onnx::ExportOptions& options) {
  // Lightning passes the sample through the batch transfer hooks first, to the module's device.
  Batch sample = on_before_batch_transfer(Batch(Value(sample_input)), 0);
  sample = transfer_batch_to_device(std::move(sample), device(), 0);
  sample = on_after_batch_transfer(std::move(sample), 0);
  onnx::export_model(*this, path, sample.value().as_tensor(), options);
}

void LightningModule::freeze() {
  for (Tensor& p : parameters()) p.requires_grad_(false);
  eval();
}

void LightningModule::unfreeze() {
  for (Tensor& p : parameters()) p.requires_grad_(true);
  train();
}

Tensor LightningModule::all_gather(const Tensor& tensor, bool sync_grads) {
  if (trainer_ == nullptr) return tensor;
  return trainer_->strategy().all_gather(tensor, sync_grads);
}

void LightningModule::print_line(const std::string& line) const {
  if (trainer_ != nullptr && !trainer_->is_global_zero()) return;
  std::cout << line << std::endl;
}

void LightningOptimizer::step(const std::function<Tensor()>& closure) {
  Trainer& t = module_->trainer();
  // Lightning wraps the closure: it runs first, then on_before_optimizer_step, then the step.
  const std::string fx = t.current_fx_;
  const profilers::ProfileScope scope = t.profile("optimizer_step");  // Lightning's manual loop times each step
  t.strategy().optimizer_step(*opt_, [&]() -> Tensor {
    Tensor loss;
    if (closure) loss = closure();
    t.precision_plugin().unscale_gradients(*opt_);  // 16-mixed: gradients unscaled before the hooks
    t.set_fx("on_before_optimizer_step");
    t.callbacks_do([&](Callback& c) { c.on_before_optimizer_step(t, *module_, *opt_); });
    t.module_do([&] { module_->on_before_optimizer_step(*opt_); });
    t.set_fx(fx);
    return loss;
  });
  t.count_optimizer_step();
}

}  // namespace fulgur::lightning
