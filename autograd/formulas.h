// Backward formulas of the differentiable primitives (tensor/autograd_hooks.h: OpId). Each is
// written with public Tensor ops, so with create_graph the backward pass is itself recorded
// and can be differentiated again.
#pragma once

#include <memory>
#include <vector>

#include "fulgur/autograd/node.h"

namespace fulgur {

class OpNode final : public Node {
 public:
  OpId op = OpId::Neg;
  OpAttrs attrs;
  std::vector<SavedTensor> saved_inputs;   // only those the formula reads
  std::vector<SavedTensor> saved_outputs;  // likewise
  std::vector<OutputInfo> inputs;          // shape/dtype/device of each input
  std::weak_ptr<Node> self;                // this node (saved outputs re-attach to it under create_graph)

  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override;
  void release_saved() override;
  std::string name() const override;

  Tensor input(size_t i) const;   // saved input i (throws if not saved or modified)
  Tensor output(size_t i) const;  // saved output i
};

// A node for `op` over inputs/outputs, saving only what its formula needs; null when no
// output can carry a gradient.
std::shared_ptr<OpNode> make_op_node(OpId op, const std::vector<Tensor>& inputs, OpAttrs attrs,
                                     const std::vector<Tensor>& outputs);

// Ops whose outputs alias their input (in-place ops on those outputs are refused while
// recording: their effect on the base's history is not tracked).
bool is_view_op(OpId op);

const char* op_name(OpId op);

}  // namespace fulgur
