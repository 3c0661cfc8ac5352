// L::Callback: code run at the Trainer's hooks (lightning.pytorch.Callback). Every hook is a
// no-op by default; the Trainer calls the callbacks' hook before the module's (except at
// on_train_epoch_end, where monitoring callbacks run after the module, as in Lightning).
//
//   struct PrintLoss : L::Callback {
//     void on_train_epoch_end(L::Trainer& t, L::LightningModule&) override {
//       std::cout << t.callback_metrics().at("loss") << "\n";
//     }
//   };
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "fulgur/optim/optimizer.h"
#include "fulgur/tensor/value.h"
#include "fulgur/trainer/batch.h"
#include "fulgur/trainer/class_name.h"

namespace fulgur::lightning {

class Trainer;
class LightningModule;

class Callback {
 public:
  virtual ~Callback() = default;

  // The checkpoint key of this callback's state and its name in profiler reports (Lightning:
  // the class's name, plus the arguments that tell instances apart in the callbacks that can
  // appear twice, e.g. "ModelCheckpoint{'monitor': 'val_loss'}").
  virtual std::string state_key() const { return python_class_name(typeid(*this)); }
  // Monitoring callbacks (ModelCheckpoint, EarlyStopping) run their on_train_epoch_end after
  // the module's, so that they see what it logged.
  virtual bool is_monitoring() const { return false; }
  virtual Value state_dict() const { return Value::dict(); }
  virtual void load_state_dict(const Value& state) {}

  virtual void setup(Trainer&, LightningModule&, const std::string& stage) {}
  virtual void teardown(Trainer&, LightningModule&, const std::string& stage) {}
  virtual void on_fit_start(Trainer&, LightningModule&) {}
  virtual void on_fit_end(Trainer&, LightningModule&) {}
  virtual void on_sanity_check_start(Trainer&, LightningModule&) {}
  virtual void on_sanity_check_end(Trainer&, LightningModule&) {}
  virtual void on_train_start(Trainer&, LightningModule&) {}
  virtual void on_train_end(Trainer&, LightningModule&) {}
  virtual void on_train_epoch_start(Trainer&, LightningModule&) {}
  virtual void on_train_epoch_end(Trainer&, LightningModule&) {}
  virtual void on_train_batch_start(Trainer&, LightningModule&, const Batch&, int64_t batch_idx) {}
  virtual void on_train_batch_end(Trainer&, LightningModule&, const Value& outputs, const Batch&,
                                  int64_t batch_idx) {}
  virtual void on_validation_start(Trainer&, LightningModule&) {}
  virtual void on_validation_end(Trainer&, LightningModule&) {}
  virtual void on_validation_epoch_start(Trainer&, LightningModule&) {}
  virtual void on_validation_epoch_end(Trainer&, LightningModule&) {}
  virtual void on_validation_batch_start(Trainer&, LightningModule&, const Batch&, int64_t batch_idx,
                                         int64_t dataloader_idx) {}
  virtual void on_validation_batch_end(Trainer&, LightningModule&, const Value& outputs, const Batch&,
                                       int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_test_start(Trainer&, LightningModule&) {}
  virtual void on_test_end(Trainer&, LightningModule&) {}
  virtual void on_test_epoch_start(Trainer&, LightningModule&) {}
  virtual void on_test_epoch_end(Trainer&, LightningModule&) {}
  virtual void on_test_batch_start(Trainer&, LightningModule&, const Batch&, int64_t batch_idx,
                                   int64_t dataloader_idx) {}
  virtual void on_test_batch_end(Trainer&, LightningModule&, const Value& outputs, const Batch&, int64_t batch_idx,
                                 int64_t dataloader_idx) {}
  virtual void on_predict_start(Trainer&, LightningModule&) {}
  virtual void on_predict_end(Trainer&, LightningModule&) {}
  virtual void on_predict_epoch_start(Trainer&, LightningModule&) {}
  virtual void on_predict_epoch_end(Trainer&, LightningModule&) {}
  virtual void on_predict_batch_start(Trainer&, LightningModule&, const Batch&, int64_t batch_idx,
                                      int64_t dataloader_idx) {}
  virtual void on_predict_batch_end(Trainer&, LightningModule&, const Value& outputs, const Batch&,
                                    int64_t batch_idx, int64_t dataloader_idx) {}
  virtual void on_before_backward(Trainer&, LightningModule&, const Tensor& loss) {}
  virtual void on_after_backward(Trainer&, LightningModule&) {}
  virtual void on_before_optimizer_step(Trainer&, LightningModule&, optim::Optimizer&) {}
  virtual void on_before_zero_grad(Trainer&, LightningModule&, optim::Optimizer&) {}
  virtual void on_exception(Trainer&, LightningModule&, const std::exception&) {}
  virtual void on_save_checkpoint(Trainer&, LightningModule&, Value& checkpoint) {}
  virtual void on_load_checkpoint(Trainer&, LightningModule&, const Value& checkpoint) {}
};

}  // namespace fulgur::lightning
