#include "fulgur/trainer/loggers/tensorboard_events.h"

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/loggers/protobuf_writer.h"

namespace fulgur::lightning::loggers::tensorboard {

namespace {

// tensorboard/compat/proto/event.proto, message Event:
//   double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; ...;
//   Summary summary = 5; ... }
// proto3 leaves a zero step out, as protobuf's serializer does.
std::string event(double wall_time, std::optional<int64_t> step, const ProtobufWriter* summary,
                  std::string_view file_version = {}) {
  ProtobufWriter e;
  e.double_field(1, wall_time);
  if (step && *step != 0) e.int64_field(2, *step);
  if (!file_version.empty()) e.string_field(3, file_version);
  if (summary != nullptr) e.message_field(5, *summary);
  return e.bytes();
}

// summary.proto, message SummaryMetadata { PluginData plugin_data = 1; ... } with
// PluginData { string plugin_name = 1; bytes content = 2; } (empty content left out).
ProtobufWriter plugin_metadata(std::string_view plugin_name, std::string_view content) {
  ProtobufWriter plugin_data;
  plugin_data.string_field(1, plugin_name);
  if (!content.empty()) plugin_data.bytes_field(2, content);
  ProtobufWriter metadata;
  metadata.message_field(1, plugin_data);
  return metadata;
}

// summary.proto: Summary { repeated Value value = 1; } around one
// Summary.Value { string tag = 1; float simple_value = 2; TensorProto tensor = 8;
//                 SummaryMetadata metadata = 9; }.
ProtobufWriter summary_of(const ProtobufWriter& value) {
  ProtobufWriter summary;
  summary.message_field(1, value);
  return summary;
}

// The hparams plugin's names (tensorboard/plugins/hparams/metadata.py).
constexpr std::string_view kHParamsPlugin = "hparams";
constexpr std::string_view kExperimentTag = "_hparams_/experiment";
constexpr std::string_view kSessionStartTag = "_hparams_/session_start_info";
constexpr std::string_view kSessionEndTag = "_hparams_/session_end_info";

// plugins/hparams/plugin_data.proto: HParamsPluginData { int32 version = 1; oneof data {
// Experiment experiment = 2; SessionStartInfo session_start_info = 3;
// SessionEndInfo session_end_info = 4; } }; PLUGIN_DATA_VERSION is 0, so version is left out.
std::string hparams_event(std::string_view tag, uint32_t data_field, const ProtobufWriter& data,
                          std::optional<int64_t> step, double wall_time) {
  ProtobufWriter plugin_data;
  plugin_data.message_field(data_field, data);
  ProtobufWriter value;
  value.string_field(1, tag);
  value.message_field(9, plugin_metadata(kHParamsPlugin, plugin_data.bytes()));
  const ProtobufWriter summary = summary_of(value);
  return event(wall_time, step, &summary);
}

}  // namespace

std::string file_version_event(double wall_time) {
  return event(wall_time, std::nullopt, nullptr, "brain.Event:2");
}

std::string scalar_event(std::string_view tag, double value, std::optional<int64_t> step, double wall_time) {
  ProtobufWriter v;
  v.string_field(1, tag);
  v.float_field(2, static_cast<float>(value));  // simple_value: in a oneof, written even when 0
  const ProtobufWriter summary = summary_of(v);
  return event(wall_time, step, &summary);
}

std::string text_event(std::string_view tag, std::string_view text, std::optional<int64_t> step, double wall_time) {
  // tensor.proto: TensorProto { DataType dtype = 1; TensorShapeProto tensor_shape = 2;
  // repeated bytes string_val = 8; }, DT_STRING = 7 (types.proto); tensor_shape.proto:
  // TensorShapeProto { repeated Dim dim = 2; } with Dim { int64 size = 1; }.
  ProtobufWriter dim;
  dim.int64_field(1, 1);
  ProtobufWriter shape;
  shape.message_field(2, dim);
  ProtobufWriter tensor;
  tensor.varint_field(1, 7);
  tensor.message_field(2, shape);
  tensor.bytes_field(8, text);
  ProtobufWriter v;
  v.string_field(1, std::string(tag) + "/text_summary");
  v.message_field(8, tensor);
  // plugins/text/plugin_data.proto: TextPluginData { int32 version = 1; } at version 0: empty.
  v.message_field(9, plugin_metadata("text", ""));
  const ProtobufWriter summary = summary_of(v);
  return event(wall_time, step, &summary);
}

std::vector<std::string> hparams_events(const Value& params, const std::vector<std::string>& metric_tags,
                                        std::optional<int64_t> step, double wall_time) {
  // plugins/hparams/api.proto: Experiment { repeated HParamInfo hparam_infos = 4;
  // repeated MetricInfo metric_infos = 5; }, HParamInfo { string name = 1; DataType type = 4; },
  // DataType { DATA_TYPE_STRING = 1; DATA_TYPE_BOOL = 2; DATA_TYPE_FLOAT64 = 3; },
  // MetricInfo { MetricName name = 1; }, MetricName { string group = 1; string tag = 2; }.
  // plugin_data.proto: SessionStartInfo { map<string, google.protobuf.Value> hparams = 1; },
  // a map being `repeated Entry { string key = 1; Value value = 2; }`; struct.proto:
  // Value { oneof kind { double number_value = 2; string string_value = 3; bool bool_value = 4; } }.
  ProtobufWriter experiment;
  ProtobufWriter session_start;
  for (const Value::Item& item : params.items()) {
    const std::string key = item.first.is_int() ? std::to_string(item.first.as_int()) : item.first.as_string();
    const Value& v = item.second;
    if (v.is_none()) continue;  // summary.hparams skips None
    ProtobufWriter proto_value;
    uint64_t data_type = 0;
    if (v.is_bool() || v.is_number()) {
      proto_value.double_field(2, v.is_bool() ? (v.as_bool() ? 1.0 : 0.0) : v.to_double());
      data_type = 3;
    } else {
      FULGUR_CHECK(v.is_string(), "TensorBoardLogger.log_hyperparams", "hyperparameter '", key,
                   "' is ", v.repr(), "; value should be one of int, float, str, bool, or torch.Tensor");
      proto_value.string_field(3, v.as_string());
      data_type = 1;
    }
    ProtobufWriter entry;
    entry.string_field(1, key).message_field(2, proto_value);
    session_start.message_field(1, entry);
    ProtobufWriter info;
    info.string_field(1, key).varint_field(4, data_type);
    experiment.message_field(4, info);
  }
  for (const std::string& tag : metric_tags) {
    ProtobufWriter name;
    name.string_field(2, tag);
    ProtobufWriter info;
    info.message_field(1, name);
    experiment.message_field(5, info);
  }
  // SessionEndInfo { Status status = 1; }, STATUS_SUCCESS = 1.
  ProtobufWriter session_end;
  session_end.varint_field(1, 1);
  return {hparams_event(kExperimentTag, 2, experiment, step, wall_time),
          hparams_event(kSessionStartTag, 3, session_start, step, wall_time),
          hparams_event(kSessionEndTag, 4, session_end, step, wall_time)};
}

}  // namespace fulgur::lightning::loggers::tensorboard
