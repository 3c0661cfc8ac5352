// The W&B records our WandbRun writes, as serialized `wandb_internal.Record` protos (one per
// WandbLogWriter record), the subset a run of Lightning's WandbLogger produces: header, run,
// config, metric definitions, history rows with their summary updates, and the exit record.
// Field numbers (wandb/proto/wandb_internal.proto, wandb 0.18) are written down in
// wandb_records.cc next to each use. `num` is the record's sequence number in the file (1, 2, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fulgur::lightning::loggers::wandb {

// HistoryItem / SummaryItem / ConfigItem: a key and its value as JSON text (json.dumps).
struct Item {
  std::string key;
  std::string value_json;
};

// Record{header{version_info{producer, min_consumer}}}: the file's first record.
std::string header_record(int64_t num, const std::string& producer, const std::string& stream_id);

// Record{run}: who the run is. Empty strings and lists are left out, as protobuf does.
struct RunInfo {
  std::string run_id;
  std::string entity;
  std::string project;
  std::vector<Item> config;
  std::string run_group;
  std::string job_type;
  std::string display_name;
  std::string notes;
  std::vector<std::string> tags;
  std::string host;
  int64_t start_seconds = 0;
  int32_t start_nanos = 0;
};
std::string run_record(int64_t num, const RunInfo& run);

// Record{config{update}}: wandb.config.update(...).
std::string config_record(int64_t num, const std::vector<Item>& update, const std::string& stream_id);

// Record{metric}: run.define_metric(name or glob, step_metric=..., step_sync=...). `defined`
// marks a user's call; the metrics a glob expands to are written with defined = false and
// overwrite = true, as wandb's handler records them.
struct MetricDefinition {
  std::string name;       // a metric's name, or
  std::string glob_name;  // a pattern ("*")
  std::string step_metric;
  bool step_sync = false;
  bool defined = true;
};
std::string metric_record(int64_t num, const MetricDefinition& metric, const std::string& stream_id);

// Record{history{item..., step{num}}}: one wandb.log row (the items include _step, _runtime,
// _timestamp, as wandb adds them).
std::string history_record(int64_t num, const std::vector<Item>& items, int64_t step, const std::string& stream_id);
// Record{summary{update...}}: the run summary's new values (wandb's summary is the last value
// of each key).
std::string summary_record(int64_t num, const std::vector<Item>& update, const std::string& stream_id);
// Record{exit{exit_code, runtime}}: the run ended (runtime in whole seconds).
std::string exit_record(int64_t num, int32_t exit_code, int32_t runtime_seconds, const std::string& stream_id);
// Record{final{}}: after the exit record. `wandb sync` holds the exit record back until it sees
// this one; without it the sender never runs its shutdown (the final config upload with the
// hyperparameters and metric definitions, the exit code).
std::string final_record(int64_t num, const std::string& stream_id);

}  // namespace fulgur::lightning::loggers::wandb
