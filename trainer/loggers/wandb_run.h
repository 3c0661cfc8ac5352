// L::loggers::WandbRun: one Weights & Biases run written offline, the folder `wandb.init(
// mode="offline")` makes and `wandb sync` uploads (Lightning's WandbLogger.experiment):
//
//   <dir>/wandb/offline-run-<YYYYMMDD_HHMMSS>-<id>/run-<id>.wandb   the records (below)
//   <dir>/wandb/offline-run-<...>/files/                             files to upload (none yet)
//   <dir>/wandb/latest-run -> offline-run-<...>                      as wandb links it
//
// The .wandb file holds, in order: a header, the run (id, project, name, entity, group, tags,
// notes, host, start time, the config given at init), then one record per call: config
// updates, metric definitions, a history row and its summary update per log(), and the exit
// and final records at finish(). Framing in wandb_log_writer.h, records in wandb_records.h.
//
//   L::loggers::WandbRun run({.project = "mnist", .name = "baseline", .dir = "logs"});
//   run.define_metric("trainer/global_step");
//   run.define_metric("*", "trainer/global_step", /*step_sync=*/true);
//   run.log(Value::dict().set("loss", 0.25).set("trainer/global_step", 10));
//   run.finish();   // also done by the destructor; then `wandb sync <run.dir()>` uploads it
//
// Records are buffered and reach the file on flush() (config updates and definitions too); a
// crash loses the unflushed rows, never the rows before them, and `wandb sync` still reads a
// run without its exit record. A disabled run (mode "disabled", WANDB_MODE=disabled, or a rank
// other than 0 in Lightning's WandbLogger) writes nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fulgur/tensor/value.h"
#include "fulgur/trainer/loggers/wandb_records.h"

namespace fulgur::lightning::loggers {

class WandbLogWriter;

// wandb.init's arguments that an offline run uses.
struct WandbRunOptions {
  std::string project = "uncategorized";  // wandb's default project
  std::string name = "";                  // the display name; "": none (W&B makes one)
  std::string dir = ".";                  // the folder "wandb/" goes into
  std::string id = "";                    // "": 8 random characters from [a-z0-9], as wandb's
  std::string entity = "";
  std::string group = "";
  std::string job_type = "";
  std::string notes = "";
  std::vector<std::string> tags = {};
  Value config = Value::dict();           // the run's initial config (a dict)
  std::string mode = "offline";           // "offline" or "disabled"
};

class WandbRun {
 public:
  explicit WandbRun(WandbRunOptions options);
  ~WandbRun();  // finish(), errors swallowed
  WandbRun(const WandbRun&) = delete;
  WandbRun& operator=(const WandbRun&) = delete;

  const std::string& id() const { return options_.id; }
  const std::string& name() const { return options_.name; }
  const std::string& project() const { return options_.project; }
  bool disabled() const { return options_.mode == "disabled"; }
  // The run's folder and its .wandb file ("" when disabled).
  const std::string& dir() const { return run_dir_; }
  std::string file() const;

  // wandb.log(data): one history row of `data` (a dict of str keys; values that JSON holds)
  // plus _step (this run's row counter), _runtime and _timestamp; the summary takes each value.
  // With step_sync metrics, a row without their step metric gets its last value (wandb's
  // handler). Keys a glob definition covers get their own definition at first sight.
  void log(const Value& data);
  // wandb.config.update(params, allow_val_change=True): a dict, nested dicts kept as JSON.
  void config_update(const Value& params);
  // run.define_metric(name, step_metric, step_sync): a name ending in "*" is a glob matched as
  // a prefix ("*", "val/*"), as wandb's; defining a name again merges into the first definition.
  void define_metric(const std::string& name, const std::string& step_metric = "", bool step_sync = false);
  // The config and summary so far (summary: each key's last logged value).
  const Value& config() const { return config_; }
  const Value& summary() const { return summary_; }
  // The next row's _step.
  int64_t step() const { return step_; }

  // The exit code finish() records (0 unless set; WandbLogger sets 1 after a failed run).
  void set_exit_code(int exit_code) { exit_code_ = exit_code; }
  void flush();
  // Writes the exit and final records and closes the file; once (later calls do nothing, later
  // logging is an error).
  void finish();
  bool finished() const { return finished_; }

 private:
  void write(const std::string& record);
  bool covered_by(const wandb::MetricDefinition& metric, const std::string& key) const;

  WandbRunOptions options_;
  std::string run_dir_;
  std::unique_ptr<WandbLogWriter> writer_;
  int64_t num_ = 0;  // the last record's number
  int64_t step_ = 0;
  int exit_code_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_;
  Value config_ = Value::dict();
  Value summary_ = Value::dict();
  std::vector<wandb::MetricDefinition> metrics_;  // define_metric calls, in order
  std::set<std::string> expanded_;                // keys given their own definition from a glob
};

}  // namespace fulgur::lightning::loggers
