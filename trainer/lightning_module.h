// L::LightningModule: an nn::Module that also says how it is trained (lightning.pytorch's
// LightningModule). Override the steps and configure_optimizers; every other hook is a
// no-op (or Lightning's default behaviour) until overridden. api.md shows a complete module.
//
// Steps and hooks run inside a Trainer; log()/log_dict() record values into the Trainer's
// results with Lightning's semantics (docs/TRAINER.md). Outside a Trainer they are ignored
// with a warning, as in Lightning.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/kernels/device.h"
#include "fulgur/kernels/error.h"
#include "fulgur/nn/module.h"
#include "fulgur/nn/onnx/export_options.h"
#include "fulgur/optim/optimizer.h"
#include "fulgur/trainer/batch.h"
#include "fulgur/trainer/hparams.h"
#include "fulgur/trainer/loaders.h"
#include "fulgur/trainer/log_options.h"
#include "fulgur/trainer/optimizer_config.h"

namespace fulgur::lightning {

class Callback;
class Trainer;
class LightningModule;

// What optimizers() returns in manual optimization: the optimizer, with step() and
// zero_grad() running the Trainer's hooks (on_before_optimizer_step) and counting
// global_step, as Lightning's LightningOptimizer does.
class LightningOptimizer {
 public:
  LightningOptimizer(LightningModule& module, optim::Optimizer& optimizer) : module_(&module), opt_(&optimizer) {}
  void step(const std::function<Tensor()>& closure = nullptr);
  void zero_grad(bool set_to_none = true) { opt_->zero_grad(set_to_none); }
  optim::Optimizer& optimizer() const { return *opt_; }
  optim::Optimizer* operator->() const { return opt_; }

 private:
  LightningModule* module_;
  optim::Optimizer* opt_;
};

// What optimizers() returns: every optimizer configure_optimizers gave, in order. Lightning's
// self.optimizers() returns the optimizer itself when there is only one (`opt =
// self.optimizers(); opt.step()`), so the list forwards step(), zero_grad(), optimizer() and
// -> to its only element; with several it refuses them and must be indexed.
class LightningOptimizers : public std::vector<LightningOptimizer> {
 public:
  using std::vector<LightningOptimizer>::vector;
  void step(const std::function<Tensor()>& closure = nullptr) { only("step").step(closure); }
  void zero_grad(bool set_to_none = true) { only("zero_grad").zero_grad(set_to_none); }
  optim::Optimizer& optimizer() { return only("optimizer").optimizer(); }
  optim::Optimizer* operator->() { return &only("operator->").optimizer(); }

 private:
  LightningOptimizer& only(const char* method);
};

namespace detail {
// Thrown by the default step and dataloader hooks, so the Trainer can tell "not overridden"
// apart (C++ cannot ask); a fulgur::Error, so one that escapes still reads well.
struct HookNotOverridden : Error {
  explicit HookNotOverridden(const char* hook_name)
      : Error(std::string(hook_name) + ": `" + hook_name + "` is not implemented by this LightningModule"),
        hook(hook_name) {}
  const char* hook;
};
}  // namespace detail

class LightningModule : public nn::Module {
 public:
  explicit LightningModule(HParams hparams = {}) : hparams_(std::move(hparams)) {}
  ~LightningModule() override = default;

  // ---- hyperparameters -----------------------------------------------------------------
  const HParams& hparams() const { return hparams_; }
  HParams& hparams() { return hparams_; }
  // Marks hparams() to go into every checkpoint ("hyper_parameters"), so
  // L::load_from_checkpoint can rebuild the module.
  void save_hyperparameters() { hparams_saved_ = true; }
  bool hyperparameters_saved() const { return hparams_saved_; }
  template <typename T>
  T hparam(const std::string& name) const {
    return hparams_.get<T>(name);
  }
  // Lightning's strict_loading: whether the Trainer (ckpt_path) and load_from_checkpoint load
  // this module's state_dict strictly. false skips missing and unexpected keys (a module that
  // saves only part of itself, such as its trainable layers). Default true.
  void strict_loading(bool strict) { strict_loading_ = strict; }
  bool strict_loading() const { return strict_loading_.value_or(true); }
  // Whether strict_loading was set (load_from_checkpoint refuses a strict= against it).
  bool strict_loading_set() const { return strict_loading_.has_value(); }

  // ---- steps -----------------------------------------------------------------------------
  using nn::Module::forward;
  // Required for fit. Return the loss (or {{"loss", l}, ...}); an empty StepOutput skips
  // the optimization of this batch.
  virtual StepOutput training_step(const Batch& batch, int64_t batch_idx);
  // With several eval/predict loaders the Trainer calls the dataloader_idx overloads; by
  // default they forward to the two-argument ones.
  virtual void validation_step(const Batch& batch, int64_t batch_idx);
  virtual void validation_step(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {
    validation_step(batch, batch_idx);
  }
  virtual void test_step(const Batch& batch, int64_t batch_idx);
  virtual void test_step(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {
    test_step(batch, batch_idx);
  }
  // Default: forward() of the batch's first tensor (Lightning: self(batch)).
  virtual Tensor predict_step(const Batch& batch, int64_t batch_idx);
  virtual Tensor predict_step(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {
    return predict_step(batch, batch_idx);
  }
  // Required for fit.
  virtual OptimizerConfig configure_optimizers();
  virtual std::vector<std::shared_ptr<Callback>> configure_callbacks() { return {}; }

  // ---- data (used when the Trainer gets neither loaders nor a datamodule) ------------------
  virtual void prepare_data() {}
  virtual Loaders train_dataloader();
  virtual Loaders val_dataloader();
  virtual Loaders test_dataloader();
  virtual Loaders predict_dataloader();
  virtual Batch on_before_batch_transfer(Batch batch, int64_t dataloader_idx) { return batch; }
  // Moves every tensor of the batch to `device`.
  virtual Batch transfer_batch_to_device(Batch batch, Device device, int64_t dataloader_idx);
  virtual Batch on_after_batch_transfer(Batch batch, int64_t dataloader_idx) { return batch; }

  // ---- hooks (no-ops unless said otherwise) -----------------------------------------------
  virtual void setup(const std::string& stage) {}
  virtual void teardown(const std::string& stage) {}
  // A run ended by an exception (or L::KeyboardInterrupt), after the callbacks' on_exception.
  // Lightning 2.x has this hook on callbacks and the datamodule only; Fulgur adds it here.
  virtual void on_exception(const std::exception& exception) {}
  virtual void configure_model() {}
  virtual void on_fit_start() {}
  virtual void on_fit_end() {}
  virtual void on_train_start() {}
  virtual void on_train_end() {}
  virtual void on_train_epoch_start() {}
  virtual void on_train_epoch_end() {}
  // Return -1 to skip the rest of the epoch (Lightning's contract).
  virtual int on_train_batch_start(const Batch& batch, int64_t batch_idx) { return 0; }
  virtual void on_train_batch_end(const Value& outputs, const Batch& batch, int64_t batch_idx) {}
  virtual void on_validation_start() {}
  virtual void on_validation_end() {}
  virtual void on_validation_epoch_start() {}
  virtual void on_validation_epoch_end() {}
  virtual void on_validation_batch_start(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_validation_batch_end(const Value& outputs, const Batch& batch, int64_t batch_idx,
                                       int64_t dataloader_idx) {}
  virtual void on_test_start() {}
  virtual void on_test_end() {}
  virtual void on_test_epoch_start() {}
  virtual void on_test_epoch_end() {}
  virtual void on_test_batch_start(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_test_batch_end(const Value& outputs, const Batch& batch, int64_t batch_idx,
                                 int64_t dataloader_idx) {}
  virtual void on_predict_start() {}
  virtual void on_predict_end() {}
  virtual void on_predict_epoch_start() {}
  virtual void on_predict_epoch_end() {}
  virtual void on_predict_batch_start(const Batch& batch, int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_predict_batch_end(const Value& outputs, const Batch& batch, int64_t batch_idx,
                                    int64_t dataloader_idx) {}
  // Mode switches around evaluation (defaults: zero_grad(), eval(), train()).
  virtual void on_validation_model_zero_grad() { zero_grad(); }
  virtual void on_validation_model_eval() { eval(); }
  virtual void on_validation_model_train() { train(); }
  virtual void on_test_model_eval() { eval(); }
  virtual void on_test_model_train() { train(); }
  virtual void on_predict_model_eval() { eval(); }

  // ---- optimization hooks (automatic optimization, in the order the Trainer calls them) ----
  virtual void on_before_zero_grad(optim::Optimizer& optimizer) {}
  virtual void optimizer_zero_grad(int64_t epoch, int64_t batch_idx, optim::Optimizer& optimizer) {
    optimizer.zero_grad();
  }
  virtual void on_before_backward(const Tensor& loss) {}
  virtual void backward(const Tensor& loss) { loss.backward(); }
  virtual void on_after_backward() {}
  virtual void on_before_optimizer_step(optim::Optimizer& optimizer) {}
  // Default: clip_gradients with the Trainer's gradient_clip_val/algorithm.
  virtual void configure_gradient_clipping(optim::Optimizer& optimizer, std::optional<double> gradient_clip_val,
                                           std::optional<std::string> gradient_clip_algorithm) {
    clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm);
  }
  // The closure runs training_step, zero_grad (first micro-batch of a window) and backward;
  // then the Trainer's on_before_optimizer_step hooks and clipping. Default:
  // the Trainer's strategy().optimizer_step(optimizer, closure) (optimizer.step(closure)
  // outside a Trainer), as Lightning's LightningOptimizer.step does.
  virtual void optimizer_step(int64_t epoch, int64_t batch_idx, optim::Optimizer& optimizer,
                              const std::function<Tensor()>& closure);
  // Default: scheduler.step() (ReduceLROnPlateau: step(metric)).
  virtual void lr_scheduler_step(Scheduler& scheduler, std::optional<double> metric) { scheduler.step(metric); }
  virtual void on_save_checkpoint(Value& checkpoint) {}
  virtual void on_load_checkpoint(const Value& checkpoint) {}

  // ---- logging -----------------------------------------------------------------------------
  void log(const std::string& name, const LogValue& value, const LogOptions& options = {});
  void log_dict(const std::vector<std::pair<std::string, LogValue>>& values, const LogOptions& options = {});

  // ---- manual optimization -----------------------------------------------------------------
  void automatic_optimization(bool on) { automatic_optimization_ = on; }
  bool automatic_optimization() const { return automatic_optimization_; }
  // The optimizers configure_optimizers returned (inside a Trainer run); with one, the list
  // itself steps it (`auto opt = optimizers(); opt.step();`).
  LightningOptimizers optimizers();
  LightningOptimizer optimizer(size_t i = 0);
  std::vector<Scheduler> lr_schedulers();
  // Only `optimizer`'s parameters keep requires_grad (the others are switched off, their
  // previous state remembered) until untoggle_optimizer; for alternating optimizers (GANs).
  void toggle_optimizer(optim::Optimizer& optimizer);
  void untoggle_optimizer(optim::Optimizer& optimizer);
  // Runs on_before_backward, backward, on_after_backward (callbacks first) like Lightning.
  void manual_backward(const Tensor& loss);
  // Clips the gradients of the optimizer's parameters: "norm" (default) or "value"; nothing
  // when the value is unset or 0.
  virtual void clip_gradients(optim::Optimizer& optimizer, std::optional<double> gradient_clip_val = std::nullopt,
                              std::optional<std::string> gradient_clip_algorithm = std::nullopt);

  // ---- misc --------------------------------------------------------------------------------
  // Lightning's `model.to_onnx(path, sample)`: onnx::export_model on this module (forward of
  // one input; opset 17, batch axis dynamic by default; docs/FORMATS.md "ONNX export").
  void to_onnx(const std::string& path, const Tensor& sample_input, const onnx::ExportOptions& options = {});
  // No gradients for any parameter, and eval mode (Lightning's freeze); unfreeze undoes it.
  void freeze();
  void unfreeze();
  // Prints on rank 0 only (one process: always), a line per call.
  template <typename... Args>
  void print(const Args&... args) const {
    print_line(::fulgur::detail::str_cat(args...));
  }
  // Lightning's LightningModule.all_gather: [world_size, *tensor.shape], every process's
  // tensor in rank order under DDP; one process (SingleDeviceStrategy) or outside a run: the
  // tensor itself, as Lightning.
  Tensor all_gather(const Tensor& tensor, bool sync_grads = false);
  // The Trainer running this module; throws when there is none.
  Trainer& trainer() const;
  bool has_trainer() const { return trainer_ != nullptr; }
  int64_t current_epoch() const;
  int64_t global_step() const;
  // Where the module's tensors are (Lightning's self.device): its first parameter's or buffer's
  // device; without any, the Trainer strategy's root_device during a run, the CPU otherwise.
  Device device() const;

 private:
  friend class Trainer;
  friend class LightningOptimizer;
  void print_line(const std::string& line) const;

  HParams hparams_;
  bool hparams_saved_ = false;
  bool automatic_optimization_ = true;
  std::optional<bool> strict_loading_;
  Trainer* trainer_ = nullptr;
  std::vector<std::pair<Tensor, bool>> toggled_;  // parameters and their requires_grad before toggling
};

}  // namespace fulgur::lightning
