// L::SaveConfigCallback (lightning.pytorch.cli.SaveConfigCallback): writes the config a
// LightningCLI resolved to `trainer.log_dir()/config.yaml` at the first setup of a run, so
// that the run can be reproduced with `--config <log_dir>/config.yaml`. LightningCLI adds it
// to the Trainer's callbacks (unless save_config_callback is off or fast_dev_run is on).
//
// An existing file is an error unless overwrite is set (Lightning refuses to overwrite the
// results of a previous run). Only global rank 0 writes. save_config() is the hook for
// saving the config elsewhere as well (e.g. to a logger), as in Lightning.
#pragma once

#include <string>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/callback.h"

namespace fulgur::lightning {

// Lightning's save_config_kwargs, names and defaults. (multifile is left out: the CLI takes
// no per-group config files, so there is nothing to split.)
struct SaveConfigOptions {
  std::string config_filename = "config.yaml";
  bool overwrite = false;
  // false: write nothing to log_dir, only call save_config() (for subclasses that override it).
  bool save_to_log_dir = true;
};

class SaveConfigCallback : public Callback {
 public:
  SaveConfigCallback(Value config, SaveConfigOptions options = {});

  std::string state_key() const override { return "SaveConfigCallback"; }
  void setup(Trainer& trainer, LightningModule& module, const std::string& stage) override;
  // Called on rank 0 after the file is written: save the config in some other place too.
  virtual void save_config(Trainer& trainer, LightningModule& module, const std::string& stage) {}

  const Value& config() const { return config_; }
  const SaveConfigOptions& options() const { return options_; }
  bool already_saved() const { return already_saved_; }

 private:
  Value config_;
  SaveConfigOptions options_;
  bool already_saved_ = false;
};

}  // namespace fulgur::lightning
