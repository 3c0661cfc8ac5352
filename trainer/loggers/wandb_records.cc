#include "fulgur/trainer/loggers/wandb_records.h"

#include "fulgur/trainer/loggers/protobuf_writer.h"

namespace fulgur::lightning::loggers::wandb {
namespace {

// Record's fields.
constexpr uint32_t kRecordNum = 1;
constexpr uint32_t kRecordHistory = 2;
constexpr uint32_t kRecordSummary = 3;
constexpr uint32_t kRecordConfig = 5;
constexpr uint32_t kRecordMetric = 12;
constexpr uint32_t kRecordRun = 17;
constexpr uint32_t kRecordExit = 18;
constexpr uint32_t kRecordFinal = 20;
constexpr uint32_t kRecordHeader = 21;
constexpr uint32_t kRecordInfo = 200;  // _RecordInfo{stream_id = 1}

// A Record with its num, one record_type field and the _info{stream_id} wandb adds.
std::string record(int64_t num, uint32_t type_field, const ProtobufWriter& body, const std::string& stream_id) {
  ProtobufWriter r;
  r.int64_field(kRecordNum, num).message_field(type_field, body);
  if (!stream_id.empty()) r.message_field(kRecordInfo, ProtobufWriter().string_field(1, stream_id));
  return r.bytes();
}

// HistoryItem, SummaryItem and ConfigItem share their layout: key = 1, value_json = 16.
ProtobufWriter item_message(const Item& item) {
  ProtobufWriter m;
  m.string_field(1, item.key).string_field(16, item.value_json);
  return m;
}

// ConfigRecord and SummaryRecord: repeated update = 1.
ProtobufWriter updates(const std::vector<Item>& items) {
  ProtobufWriter m;
  for (const Item& item : items) m.message_field(1, item_message(item));
  return m;
}

void optional_string(ProtobufWriter& m, uint32_t field, const std::string& s) {
  if (!s.empty()) m.string_field(field, s);
}

}  // namespace

std::string header_record(int64_t num, const std::string& producer, const std::string& stream_id) {
  // HeaderRecord{version_info = 1: VersionInfo{producer = 1, min_consumer = 2}}. min_consumer
  // is what wandb 0.18 writes itself.
  ProtobufWriter version;
  version.string_field(1, producer).string_field(2, "0.40.0");
  return record(num, kRecordHeader, ProtobufWriter().message_field(1, version), stream_id);
}

std::string run_record(int64_t num, const RunInfo& run) {
  // RunRecord{run_id = 1, entity = 2, project = 3, config = 4, run_group = 6, job_type = 7,
  // display_name = 8, notes = 9, repeated tags = 10, host = 13, start_time = 17
  // (google.protobuf.Timestamp{seconds = 1, nanos = 2})}.
  ProtobufWriter m;
  m.string_field(1, run.run_id);
  optional_string(m, 2, run.entity);
  optional_string(m, 3, run.project);
  if (!run.config.empty()) m.message_field(4, updates(run.config));
  optional_string(m, 6, run.run_group);
  optional_string(m, 7, run.job_type);
  optional_string(m, 8, run.display_name);
  optional_string(m, 9, run.notes);
  for (const std::string& tag : run.tags) m.string_field(10, tag);
  optional_string(m, 13, run.host);
  ProtobufWriter start;
  start.int64_field(1, run.start_seconds);
  if (run.start_nanos != 0) start.int64_field(2, run.start_nanos);
  m.message_field(17, start);
  return record(num, kRecordRun, m, run.run_id);
}

std::string config_record(int64_t num, const std::vector<Item>& update, const std::string& stream_id) {
  return record(num, kRecordConfig, updates(update), stream_id);
}

std::string metric_record(int64_t num, const MetricDefinition& metric, const std::string& stream_id) {
  // MetricRecord{name = 1, glob_name = 2, step_metric = 4, options = 6: MetricOptions{step_sync = 1,
  // hidden = 2, defined = 3}, summary = 7: MetricSummary{}, _control = 9: MetricControl{overwrite = 1}}.
  ProtobufWriter m;
  optional_string(m, 1, metric.name);
  optional_string(m, 2, metric.glob_name);
  optional_string(m, 4, metric.step_metric);
  ProtobufWriter options;
  if (metric.step_sync) options.bool_field(1, true);
  if (metric.defined) options.bool_field(3, true);
  m.message_field(6, options);
  if (!metric.defined) m.message_field(7, ProtobufWriter()).message_field(9, ProtobufWriter().bool_field(1, true));
  return record(num, kRecordMetric, m, stream_id);
}

std::string history_record(int64_t num, const std::vector<Item>& items, int64_t step, const std::string& stream_id) {
  // HistoryRecord{repeated item = 1, step = 2: HistoryStep{num = 1}}.
  ProtobufWriter m;
  for (const Item& item : items) m.message_field(1, item_message(item));
  ProtobufWriter step_message;
  if (step != 0) step_message.int64_field(1, step);
  m.message_field(2, step_message);
  return record(num, kRecordHistory, m, stream_id);
}

std::string summary_record(int64_t num, const std::vector<Item>& update, const std::string& stream_id) {
  return record(num, kRecordSummary, updates(update), stream_id);
}

std::string exit_record(int64_t num, int32_t exit_code, int32_t runtime_seconds, const std::string& stream_id) {
  // RunExitRecord{exit_code = 1, runtime = 2}.
  ProtobufWriter m;
  if (exit_code != 0) m.int64_field(1, exit_code);
  if (runtime_seconds != 0) m.int64_field(2, runtime_seconds);
  return record(num, kRecordExit, m, stream_id);
}

std::string final_record(int64_t num, const std::string& stream_id) {
  return record(num, kRecordFinal, ProtobufWriter(), stream_id);  // FinalRecord{} (only _info)
}

}  // namespace fulgur::lightning::loggers::wandb
