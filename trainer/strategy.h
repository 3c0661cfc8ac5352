// L::Strategy: how a run uses its devices (lightning.pytorch.strategies). The Trainer routes
// through it everything a distributed run changes: where the module and batches live, the
// backward and the optimizer step, the collectives (reduce, all_gather, broadcast, barrier)
// and the process ranks. SingleDeviceStrategy runs one process; DDPStrategy (ddp_strategy.h)
// several (docs/TRAINER.md, "Strategy and accelerator"; docs/DISTRIBUTED.md).
//
//   L::Trainer trainer({.strategy = std::make_shared<L::SingleDeviceStrategy>(kCPU)});
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/kernels/device.h"
#include "fulgur/optim/optimizer.h"
#include "fulgur/tensor/tensor.h"
#include "fulgur/trainer/accelerator.h"
#include "fulgur/trainer/batch.h"
#include "fulgur/trainer/metrics/reducer.h"

namespace fulgur::lightning {

class Precision;

class LightningModule;

class Strategy {
 public:
  explicit Strategy(std::shared_ptr<Accelerator> accelerator = nullptr) : accelerator_(std::move(accelerator)) {}
  virtual ~Strategy() = default;
  // The registry name ("single_device", later "ddp").
  virtual std::string name() const = 0;

  // The accelerator the connector gave (or the one passed in).
  Accelerator* accelerator() const { return accelerator_.get(); }
  void accelerator(std::shared_ptr<Accelerator> accelerator) { accelerator_ = std::move(accelerator); }

  // ---- devices and processes ---------------------------------------------------------------
  virtual Device root_device() const = 0;
  virtual int64_t world_size() const { return 1; }
  virtual int64_t global_rank() const { return 0; }
  virtual int64_t local_rank() const { return 0; }
  virtual int64_t node_rank() const { return 0; }
  bool is_global_zero() const { return global_rank() == 0; }

  // ---- run lifecycle (the Trainer calls setup after configure_model, teardown at the end) ----
  virtual void setup(LightningModule& module);
  virtual void teardown();
  virtual void model_to_device(LightningModule& module) = 0;
  // The module's transfer_batch_to_device with root_device() (Lightning's batch_to_device).
  virtual Batch batch_to_device(LightningModule& module, Batch batch, int64_t dataloader_idx);

  // ---- optimization --------------------------------------------------------------------------
  // pre_backward, the module's backward(closure_loss), post_backward. The on_before_backward /
  // on_after_backward hooks run around this call. DDP's gradient all-reduce goes in post_backward.
  virtual void backward(const Tensor& closure_loss, LightningModule& module, optim::Optimizer* optimizer);
  virtual void pre_backward(const Tensor& closure_loss, LightningModule& module) {}
  virtual void post_backward(const Tensor& closure_loss, LightningModule& module) {}
  // Whether the next backward synchronises gradients across processes: the fit loop turns it
  // off on gradient-accumulation micro-batches but the last (DDP's no_sync()).
  virtual void set_gradient_sync(bool enabled) {}
  // Right before each training_step (DDP: buffers broadcast from rank 0, as DDP's forward).
  virtual void before_training_step(LightningModule& module) {}
  // optimizer.step(closure); the module's default optimizer_step and LightningOptimizer.step
  // come here. Returns the closure's loss (undefined when the optimizer does not give it).
  virtual Tensor optimizer_step(optim::Optimizer& optimizer, const std::function<Tensor()>& closure);
  // The run's precision plugin (Lightning's strategy.precision_plugin): backward runs on its
  // pre_backward(loss) and optimizer_step goes through it (16-mixed's loss scaling). Set by
  // the Trainer; not owned.
  void set_precision_plugin(Precision* plugin) { precision_plugin_ = plugin; }

  // ---- collectives (Lightning's signatures; one process: the identity) -----------------------
  // reduce_op: "mean" or "sum".
  virtual Tensor reduce(const Tensor& tensor, const std::string& reduce_op = "mean") = 0;
  virtual Tensor all_gather(const Tensor& tensor, bool sync_grads = false) = 0;
  virtual Value broadcast(const Value& obj, int64_t src = 0) = 0;
  virtual void barrier(const std::string& name = "") = 0;
  // Lightning's reduce_boolean_decision: whether all (or any) processes decided true.
  virtual bool reduce_boolean_decision(bool decision, bool all = true) { return decision; }
  // Every process's string, in rank order (the Trainer compares logged keys with it).
  virtual std::vector<std::string> all_gather_strings(const std::string& s) { return {s}; }
  // What metric objects sync their states through (null: one process, nothing to sync).
  virtual std::shared_ptr<const metrics::Reducer> metrics_reducer() { return nullptr; }

  // ---- failures ------------------------------------------------------------------------------
  // Whether an exception escaping a Trainer call must end every process (abort) rather than
  // propagate: true for multi-process strategies, whose other ranks would wait forever.
  virtual bool abort_on_exception() const { return false; }
  // Ends every process of the run with exit_code after printing why (MPI_Abort).
  [[noreturn]] virtual void abort(int exit_code, const std::string& why);

 private:
  Precision* precision_plugin_ = nullptr;
  std::shared_ptr<Accelerator> accelerator_;
};

// One device, one process (lightning.pytorch.strategies.SingleDeviceStrategy): what
// ("auto", "auto", "auto") resolves to.
class SingleDeviceStrategy : public Strategy {
 public:
  explicit SingleDeviceStrategy(Device device = kCPU, std::shared_ptr<Accelerator> accelerator = nullptr)
      : Strategy(std::move(accelerator)), device_(device) {}
  std::string name() const override { return "single_device"; }
  Device root_device() const override { return device_; }
  void model_to_device(LightningModule& module) override;
  Tensor reduce(const Tensor& tensor, const std::string& reduce_op = "mean") override;
  Tensor all_gather(const Tensor& tensor, bool sync_grads = false) override { return tensor; }
  Value broadcast(const Value& obj, int64_t src = 0) override { return obj; }
  void barrier(const std::string& name = "") override {}

 private:
  Device device_;
};

}  // namespace fulgur::lightning
