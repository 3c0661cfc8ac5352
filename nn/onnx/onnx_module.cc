#include "fulgur/nn/onnx/onnx_module.h"

#include <algorithm>
#include <map>

#include "fulgur/kernels/error.h"

namespace fulgur::onnx {

namespace {

std::string parameter_name(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

}  // namespace

OnnxModule::OnnxModule(const std::filesystem::path& path) : session_(path) {
  FULGUR_CHECK(session_.inputs().size() == 1 && session_.outputs().size() == 1, "OnnxModule",
               path.string(), " has ", session_.inputs().size(), " inputs and ", session_.outputs().size(),
               " outputs; hint: a module maps one input to one output, run other graphs with an InferenceSession");
  std::map<std::string, std::string> original;  // parameter name -> initializer name
  for (const auto& [initializer, tensor] : session_.initializers()) {
    if (!tensor.is_floating_point()) continue;
    const std::string name = parameter_name(initializer);
    const auto [it, fresh] = original.emplace(name, initializer);
    FULGUR_CHECK(fresh, "OnnxModule", "initializers '", it->second, "' and '", initializer,
                 "' of ", path.string(), " both become parameter '", name,
                 "'; hint: rename one of them in the ONNX file");
    // The session's own tensor (a shared handle): requires_grad and in-place optimizer
    // updates act on what run() reads.
    register_parameter(name, tensor);
  }
}

Tensor OnnxModule::forward(const Tensor& x) { return session_.run({x}).front(); }

}  // namespace fulgur::onnx
