// Internal state of an InferenceSession (model.cc loads, session.cc runs).
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/nn/onnx/session.h"

namespace fulgur::onnx {

struct SessionImpl {
  std::unique_ptr<::onnx::ModelProto> model;
  int64_t opset = 0;
  std::map<std::string, Tensor> initializers;
  std::vector<ValueInfo> inputs;   // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::vector<int> order;          // node indices in execution order

  void load(const std::string& bytes, const std::filesystem::path& base_dir);
};

}  // namespace fulgur::onnx
