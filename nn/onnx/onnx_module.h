// onnx::OnnxModule: an ONNX model file as a trainable nn::Module. Its floating-point
// initializers (the weights) become the module's parameters and its graph runs through the
// ONNX runtime's kernels, which are ordinary differentiable tensor ops: autograd records
// through them, an optimizer updates the initializers in place, and the next run sees the new
// values. So a model trained elsewhere (PyTorch, or fulgur's own export) can be fine-tuned.
//
//   auto m = std::make_shared<onnx::OnnxModule>("model.onnx");
//   optim::Adam opt(m->parameters(), {.lr = 1e-3});
//   Tensor loss = F::mse_loss(m->forward(x), y); loss.backward(); opt.step();
//
// Parameter names are the initializer names with every character nn::Module refuses in a name
// ('.') replaced by '_' ("0.weight" -> "0_weight"). Only graphs with one input and one output
// are modules (forward(x) -> y); integer initializers (shapes, indices) stay constants.
#pragma once

#include <filesystem>
#include <string>

#include "fulgur/nn/module.h"
#include "fulgur/nn/onnx/session.h"

namespace fulgur::onnx {

class OnnxModule : public nn::Module {
 public:
  // Loads and checks the model (InferenceSession's checks). Throws fulgur::Error for a file
  // that is not a one-input, one-output model, or whose initializer names collide once '.'
  // is replaced.
  explicit OnnxModule(const std::filesystem::path& path);

  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "OnnxModule"; }

  const InferenceSession& session() const { return session_; }

 private:
  InferenceSession session_;
};

}  // namespace fulgur::onnx
