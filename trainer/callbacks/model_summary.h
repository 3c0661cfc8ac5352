// L::callbacks::ModelSummary: prints L::ModelSummary's table when fit starts
// (lightning.pytorch.callbacks.ModelSummary).
//
//   L::Trainer trainer({.callbacks = {std::make_shared<L::callbacks::ModelSummary>(2)}});
//
// Trainer(enable_model_summary=true), the default, adds ModelSummary(max_depth=1) when the
// callbacks have none. Like Lightning's log.info, the table goes to stderr after an empty line.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "fulgur/trainer/callback.h"

namespace fulgur::lightning::callbacks {

class ModelSummary : public Callback {
 public:
  // max_depth: -1 every module, 0 prints nothing, N the modules N levels deep. `stream`:
  // where the table goes (null: std::cerr).
  explicit ModelSummary(int64_t max_depth = 1, std::ostream* stream = nullptr);

  int64_t max_depth() const { return max_depth_; }
  std::string state_key() const override { return "ModelSummary"; }
  void on_fit_start(Trainer& trainer, LightningModule& module) override;

 private:
  int64_t max_depth_;
  std::ostream* stream_;
};

}  // namespace fulgur::lightning::callbacks
