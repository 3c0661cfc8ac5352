// L::callbacks::ModelSummary: Lightning's ModelSummary.on_fit_start.
#include "fulgur/trainer/callbacks/model_summary.h"

#include <iostream>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/model_summary.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

ModelSummary::ModelSummary(int64_t max_depth, std::ostream* stream) : max_depth_(max_depth), stream_(stream) {
  FULGUR_CHECK(max_depth >= -1, "ModelSummary", "`max_depth` can be -1, 0 or > 0, got ", max_depth, ".");
}

void ModelSummary::on_fit_start(Trainer& trainer, LightningModule& module) {
  if (max_depth_ == 0) return;
  const lightning::ModelSummary summary(module, max_depth_, trainer.precision());
  if (!trainer.is_global_zero()) return;
  std::ostream& out = stream_ != nullptr ? *stream_ : std::cerr;
  out << "\n" << summary.str() << std::endl;
}

}  // namespace fulgur::lightning::callbacks
