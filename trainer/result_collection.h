// ResultCollection: what LightningModule::log records during one loop (Lightning's
// _ResultCollection): per (hook, name) the options and the running epoch reduction, and the
// three views the Trainer publishes (logged, callback, progress bar metrics).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/trainer/log_options.h"

namespace fulgur::lightning::detail {

// Which on_step/on_epoch a hook allows and its defaults (Lightning's _FxValidator).
struct FxLogRules {
  bool step_allowed;   // on_step=True allowed
  bool epoch_allowed;  // on_epoch=True allowed
  bool step_only_false_allowed;  // on_step=False allowed (always true in Lightning's table)
  bool default_on_step;
  bool default_on_epoch;
};
// Null when the hook may not log at all.
std::optional<FxLogRules> fx_log_rules(const std::string& fx);

struct MetricViews {
  std::map<std::string, double> log, callback, pbar;
};

// One value that self.log(..., sync_dist=true) asked to reduce across processes.
// op: "mean" (average over ranks), "sum", "max", "min".
struct SyncItem {
  std::string key;
  std::string op;
  double value = 0;
};
// Reduces every item across the processes (same list, same order on every rank) and returns
// the results in order. Set by the Trainer in multi-process runs.
using SyncFn = std::function<std::vector<double>(const std::vector<SyncItem>&)>;

class ResultCollection {
 public:
  explicit ResultCollection(bool training) : training_(training) {}

  // Records one log() call made from hook `fx` (already validated; name carries any
  // dataloader suffix). batch_size weighs the epoch mean.
  void log(const std::string& fx, const std::string& name, const LogValue& value, const LogOptions& options,
           bool on_step, bool on_epoch, int64_t batch_size);
  // Lightning's metrics(on_step): on_step values (last logged) or epoch reductions, under
  // their forked names (name_step / name_epoch when both on_step and on_epoch).
  MetricViews metrics(bool on_step);
  // Clears the epoch state (and resets metric objects); keys logged before are not reported
  // again until logged anew.
  void reset();
  bool empty() const { return results_.empty(); }
  // sync_dist values are reduced through `sync` when views are built (metrics()): at those
  // points every rank is at the same place of the loop, whereas log() calls may differ.
  void set_sync(SyncFn sync) { sync_ = std::move(sync); }

 private:
  struct Result {
    std::string key;  // fx.name
    std::string name;
    LogOptions options;
    bool on_step = false, on_epoch = false;
    std::shared_ptr<metrics::Metric> metric;
    bool has_step = false;
    double step_value = 0;
    double value = 0;    // mean: sum of value * batch size; sum; max; min
    double weight = 0;   // mean: the batch sizes' sum
    bool has_epoch = false;
    bool has_reset = false;
  };
  double epoch_value(Result& r);

  bool training_;
  std::vector<Result> results_;
  SyncFn sync_;
};

}  // namespace fulgur::lightning::detail
