// L::LightningDataModule: the data side of a Lightning program, in Lightning's hooks.
//
//   class MNISTData : public L::LightningDataModule {
//    public:
//     void prepare_data() override { data::MNIST(dir_, {.download = true}); }     // once per node
//     void setup(const std::string& stage) override { ... }                         // every process
//     L::Loaders train_dataloader() override { return data::DataLoader(train_, {.batch_size = 64}); }
//   };
//
// The Trainer calls prepare_data (on local rank 0 of each node), setup(stage) with stage
// "fit", "validate", "test" or "predict", the *_dataloader hooks, and teardown(stage). A hook
// the Trainer needs but the subclass did not implement throws, naming it, as Lightning raises
// MisconfigurationException. state_dict/load_state_dict go into the checkpoint under the
// datamodule's class name (Lightning's key).
//
// Like a LightningModule, a datamodule may take its arguments as L::HParams (Lightning's
// self.hparams on a datamodule), which is how L::LightningCLI learns and sets them; with
// save_hyperparameters() they go into checkpoints and to the loggers too:
//
//   explicit MNISTData(L::HParams hp = {})
//       : L::LightningDataModule(hp.with_defaults({{"data_dir", "data"}, {"batch_size", 64}})) {}
#pragma once

#include <exception>
#include <string>

#include <utility>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/hparams.h"
#include "fulgur/trainer/loaders.h"

namespace fulgur::lightning {

class LightningDataModule {
 public:
  LightningDataModule() = default;
  explicit LightningDataModule(HParams hparams) : hparams_(std::move(hparams)) {}
  virtual ~LightningDataModule() = default;

  // The arguments given at construction (empty for a datamodule that takes none).
  const HParams& hparams() const { return hparams_; }
  HParams& hparams() { return hparams_; }
  template <typename T>
  T hparam(const std::string& name) const {
    return hparams_.get<T>(name);
  }
  // Marks hparams() to go into every checkpoint ("datamodule_hyper_parameters") and to the
  // loggers (merged with the module's), so that L::load_from_checkpoint<DataModule> can
  // rebuild it, as Lightning's LightningDataModule.save_hyperparameters().
  void save_hyperparameters() { hparams_saved_ = true; }
  bool hyperparameters_saved() const { return hparams_saved_; }

  // Download or write to disk; called once per node, before setup. Do not set state here
  // (other processes will not see it), as in Lightning.
  virtual void prepare_data() {}
  // Build datasets for `stage` ("fit", "validate", "test", "predict"); called in every process.
  virtual void setup(const std::string& stage) {}
  virtual void teardown(const std::string& stage) {}
  // A run ended by an exception (or L::KeyboardInterrupt): Lightning's datamodule.on_exception,
  // called after the callbacks' and the module's.
  virtual void on_exception(const std::exception& exception) {}

  virtual Loaders train_dataloader();
  virtual Loaders val_dataloader();
  virtual Loaders test_dataloader();
  virtual Loaders predict_dataloader();

  // Extra state to keep in checkpoints (Lightning: {} by default).
  virtual Value state_dict() const { return Value::dict(); }
  virtual void load_state_dict(const Value& state) {}

  // The checkpoint key and repr name (Lightning uses the class's __qualname__).
  virtual std::string name() const { return "LightningDataModule"; }

 private:
  HParams hparams_;
  bool hparams_saved_ = false;
};

namespace detail {
// Whether `e` is the error of a default *_dataloader hook ("`<hook>` must be implemented to be
// used with the Lightning Trainer"): the hook is not overridden.
bool is_not_implemented(const std::exception& e);
}  // namespace detail

}  // namespace fulgur::lightning
