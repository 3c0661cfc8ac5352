// L::callbacks::Checkpoint: Lightning's Checkpoint base class, the kind of callback the Trainer
// treats as saving checkpoints: it runs last among the callbacks (so it saves what the others
// did at the same hook), its on_train_epoch_end comes after the module's (a monitoring
// callback), one of them stands in for the default ModelCheckpoint, and
// `enable_checkpointing=false` refuses it. ModelCheckpoint and OnExceptionCheckpoint are ones.
#pragma once

#include "fulgur/trainer/callback.h"

namespace fulgur::lightning::callbacks {

class Checkpoint : public Callback {
 public:
  bool is_monitoring() const override { return true; }
};

}  // namespace fulgur::lightning::callbacks
