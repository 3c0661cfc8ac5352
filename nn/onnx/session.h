// fulgur::onnx::InferenceSession: loads an ONNX model (libonnx's protobuf classes) and runs
// its graph on CPU fulgur tensors, honouring the semantics of the opset the model declares.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur::onnx {

struct SessionImpl;

struct ValueInfo {
  std::string name;
  DType dtype = DType::Float32;
  bool has_dtype = false;
  // -1 for a symbolic or unknown dim; shape_known false when the rank is unknown.
  std::vector<int64_t> shape;
  bool shape_known = false;
};

class InferenceSession {
 public:
  // Loads and checks the model: opset import of the default domain, initializers (external
  // data only inside the model's folder), non-negative dims, every node input produced by a
  // graph input, an initializer or an earlier node, every op known. Throws fulgur::Error.
  explicit InferenceSession(const std::filesystem::path& path);
  // From serialized bytes; base_dir resolves external data (empty: refused).
  static InferenceSession from_bytes(const std::string& bytes, const std::filesystem::path& base_dir = {});
  ~InferenceSession();
  InferenceSession(InferenceSession&&) noexcept;
  InferenceSession& operator=(InferenceSession&&) noexcept;

  // Inputs in the order of inputs() (graph inputs that are not initializers).
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;
  // `run({a, b})` (a braced list would otherwise also match the map overloads).
  std::vector<Tensor> run(std::initializer_list<Tensor> inputs) const {
    return run(std::vector<Tensor>(inputs));
  }
  // Inputs by name; returns the graph outputs in order.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs) const;
  // Inputs by name, chosen outputs by name.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs,
                          const std::vector<std::string>& output_names) const;

  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;
  // The opset version declared for the default ("" / "ai.onnx") domain.
  int64_t opset() const;
  // The graph's initializers (weights, constants) by name. The tensors are the ones run()
  // reads: an OnnxModule makes the floating ones trainable parameters through them.
  const std::map<std::string, Tensor>& initializers() const;

 private:
  InferenceSession();
  std::unique_ptr<SessionImpl> impl_;
};

}  // namespace fulgur::onnx
