// ExportOptions of the ONNX exporter (export.h), apart so that code offering an export entry
// point (L::LightningModule::to_onnx) can name them without the protobuf headers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fulgur::onnx {

// Per input or output name: axis -> the name of its symbolic dim ("batch").
using DynamicAxes = std::map<std::string, std::map<int64_t, std::string>>;

struct ExportOptions {
  // The default domain's opset: 13 to 17 (the emitted node forms are those of 13..17).
  int64_t opset_version = 17;
  // Parameters and buffers as initializers (true), or as extra graph inputs after the model's
  // inputs, named by their state_dict names (false).
  bool export_params = true;
  // Default: input_0, input_1, ... / output_0, ... ; fewer names than values: the rest default.
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  // Unset: axis 0 of every input (of rank >= 1) is "batch", and every output dim that follows
  // it is "batch" too. Set (also empty: all static): exactly those input axes are dynamic;
  // output dims follow them (named by the input axis, or by the entry given for the output).
  std::optional<DynamicAxes> dynamic_axes;
  std::string producer_name = "fulgur";
  std::string graph_name = "main_graph";
  std::string doc_string;
};

}  // namespace fulgur::onnx
