// ReduceLROnPlateau (PyTorch 1.13): divides the lr by 1 / factor when a metric (validation
// loss, accuracy) has not improved for more than `patience` steps, then waits `cooldown`
// steps. Improvement means beating the best value by a relative or absolute threshold. Not
// an LRScheduler (as in PyTorch 1.13): it is stepped with the metric, step(metric).
#pragma once

#include <cstdint>
#include <vector>

#include "fulgur/optim/optimizer.h"
#include "fulgur/tensor/value.h"

namespace fulgur::optim {

enum class PlateauMode { Min, Max };      // whether the metric should go down or up
enum class ThresholdMode { Rel, Abs };    // best * (1 -/+ threshold) or best -/+ threshold

// optim::ReduceLROnPlateau(opt, {.mode = optim::PlateauMode::Max, .factor = 0.5, .patience = 3})
struct ReduceLROnPlateauOptions {
  PlateauMode mode = PlateauMode::Min;
  double factor = 0.1;  // new lr = lr * factor; must be < 1
  int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::Rel;
  int64_t cooldown = 0;
  std::vector<double> min_lr = {0};  // one for all groups or one per group
  double eps = 1e-8;                 // smaller lr changes are skipped
};

class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;

  void step(double metric);
  // Each group's lr after the last step (empty before the first).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  int64_t last_epoch() const { return last_epoch_; }
  Optimizer& optimizer() const { return *optimizer_; }

  // PyTorch's attributes in its order; "_last_lr" only once stepped.
  Value state_dict() const;
  void load_state_dict(const Value& state_dict);

 private:
  bool is_better(double a, double best) const;
  void reduce_lr();

  Optimizer* optimizer_;
  double factor_;
  std::vector<double> min_lrs_;
  int64_t patience_, cooldown_, cooldown_counter_ = 0;
  PlateauMode mode_;
  double threshold_;
  ThresholdMode threshold_mode_;
  double best_, mode_worse_;
  int64_t num_bad_epochs_ = 0;
  double eps_;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace fulgur::optim
