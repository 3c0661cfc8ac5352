// Graph nodes of the autograd tape. A node is created when a differentiable op runs on
// inputs that require grad; it holds edges to the nodes of those inputs and only what its
// backward formula needs (SavedTensor), which backward releases unless the graph is
// retained.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/autograd_meta.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {

// Where a gradient goes: input `input_nr` of `node` (null node: the input needs no grad).
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

// A tensor kept for backward, with the storage version it had when saved: modifying it in
// place afterwards makes backward fail with a message naming the op, as in PyTorch.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  // The saved tensor; throws fulgur::Error if it was modified in place since, or released.
  Tensor unpack(const char* op) const;
  void reset() { tensor_ = Tensor(); released_ = true; }
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
  bool released_ = false;
};

class Node {
 public:
  virtual ~Node() = default;
  // Gradients of the inputs (one per next edge; undefined where not needed) from the
  // gradients of the outputs (one per output; undefined where no gradient arrived: treat
  // as zeros).
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
  // Frees saved tensors after backward (unless the graph is retained).
  virtual void release_saved() {}
  virtual std::string name() const = 0;

  std::vector<Edge> next_edges;
  uint64_t sequence_nr = 0;  // creation order: later nodes run first among ready ones
  // Per output: the tensor's autograd state, for its hooks and retain_grad (weak: the node
  // must not keep its outputs alive).
  std::vector<std::weak_ptr<AutogradMeta>> output_metas;
  // Per output (sized on first use): the output tensor's hooks, held strongly so that they
  // outlive the tensor.
  std::vector<std::shared_ptr<GradHookList>> output_hooks;
  // Shape, dtype and device of each output, to make zero gradients when none arrived.
  struct OutputInfo {
    Shape sizes;
    DType dtype = DType::Float32;
    Device device = kCPU;
  };
  std::vector<OutputInfo> outputs;
  // The forward op, for anomaly mode and error messages ("mul", ...).
  const char* forward_op = "";
};

// Builds a shared_ptr<Node> whose destruction is iterative: dropping the head of a
// 100,000-node chain must not recurse 100,000 frames deep.
template <typename T, typename... Args>
std::shared_ptr<T> make_node(Args&&... args);

namespace detail {
void delete_node(Node* node);
}

template <typename T, typename... Args>
std::shared_ptr<T> make_node(Args&&... args) {
  return std::shared_ptr<T>(new T(std::forward<Args>(args)...), [](T* p) { detail::delete_node(p); });
}

}  // namespace fulgur
