// The TensorBoard records our TensorBoardLogger writes, as serialized `tensorboard.Event`
// protos (one per TFRecord), matching what torch.utils.tensorboard's SummaryWriter writes for
// the same calls: the file_version header, add_scalar, add_text and summary.hparams. Field
// numbers are listed in tensorboard_events.cc next to each use (event.proto, summary.proto,
// tensor.proto, tensor_shape.proto, plugins/hparams/{plugin_data,api}.proto,
// google/protobuf/struct.proto).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fulgur/tensor/value.h"

namespace fulgur::lightning::loggers::tensorboard {

// Event{wall_time, file_version: "brain.Event:2"}: the first record of every event file.
std::string file_version_event(double wall_time);
// Event{wall_time, step, summary{value{tag, simple_value}}} (SummaryWriter.add_scalar; the
// value is a float32, as in TensorBoard).
std::string scalar_event(std::string_view tag, double value, std::optional<int64_t> step, double wall_time);
// SummaryWriter.add_text: tag "<tag>/text_summary", the "text" plugin, a DT_STRING tensor of
// shape [1].
std::string text_event(std::string_view tag, std::string_view text, std::optional<int64_t> step, double wall_time);
// torch.utils.tensorboard.summary.hparams(params, metrics) as three events, in the order
// Lightning writes them: experiment, session_start_info, session_end_info. `params` is a flat
// dict of bool/int/float/str (bools and numbers become number_value, as PyTorch's check for
// int/float comes first); `metric_tags` are the metric_dict's keys.
std::vector<std::string> hparams_events(const Value& params, const std::vector<std::string>& metric_tags,
                                        std::optional<int64_t> step, double wall_time);

}  // namespace fulgur::lightning::loggers::tensorboard
