// fulgur::onnx::export_model: traces one forward pass and writes it as an ONNX model (through
// the protobuf classes of Debian's libonnx-dev). See docs/FORMATS.md ("ONNX export").
//
//   nn::Sequential net(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
//   onnx::export_model(net, "net.onnx", randn({3, 4}));            // opset 17, batch axis dynamic
//   onnx::export_model(net, "net.onnx", randn({3, 4}),
//                      {.export_params = false, .input_names = {"x"}, .output_names = {"logits"}});
//
// The forward runs with the module in eval mode (restored afterwards) and grad mode off;
// every op it calls on the inputs and parameters is recorded (tensor/trace.h), whatever code
// calls it (custom modules, F::, tensor methods). Tensors made inside forward that do not come
// from the inputs or parameters are baked in as constants. An op without an ONNX counterpart
// throws fulgur::Error naming it; so does a forward whose ops or constants change when a
// dynamic axis changes size (checked by tracing again with each dynamic axis one larger).
// Sizes are taken to be affine in each dynamic axis (read off those two passes).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fulgur/nn/module.h"
#include "fulgur/nn/onnx/export_options.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::onnx {


// Any forward: inputs -> outputs. `params` are the tensors that become initializers (or
// graph inputs), by name; other tensors it reads become constants.
using TracedFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

::onnx::ModelProto export_function_proto(const TracedFunction& fn,
                                         const std::vector<std::pair<std::string, Tensor>>& params,
                                         const std::vector<Tensor>& sample_inputs, const ExportOptions& options = {});
// Writes the model atomically (a temp file renamed over `path`).
void export_function(const TracedFunction& fn, const std::vector<std::pair<std::string, Tensor>>& params,
                     const std::string& path, const std::vector<Tensor>& sample_inputs,
                     const ExportOptions& options = {});

// module.forward(x): parameters and buffers from named_parameters()/named_buffers().
// (PyTorch's torch.onnx.export(module, ...); Module::to_onnx would make //nn:module depend on
// //nn/onnx, so this is a free function. See docs/FORMATS.md.)
::onnx::ModelProto export_model_proto(nn::Module& module, const Tensor& sample_input, const ExportOptions& options = {});
void export_model(nn::Module& module, const std::string& path, const Tensor& sample_input,
                  const ExportOptions& options = {});

// Writes a model proto atomically.
void save_model(const ::onnx::ModelProto& model, const std::string& path);

}  // namespace fulgur::onnx
