// Per-tensor autograd state, carried by TensorImpl::autograd (null for tensors that never
// took part in autograd). Data only: autograd/ gives it meaning.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur {

class Node;  // a graph node; defined in autograd/node.h

// A hook on a tensor's gradient: returns a replacement, or an undefined Tensor to keep it.
using GradHook = std::function<Tensor(const Tensor&)>;
// Runs after a leaf's .grad() was updated (e.g. to start an all-reduce).
using PostAccumulateGradHook = std::function<void(const Tensor&)>;
// A tensor's gradient hooks; removed hooks are left empty so handles stay valid. Shared with
// the tensor's grad_fn (as PyTorch keeps them on the node), so the hooks of an intermediate
// still run when the tensor itself was freed before backward.
using GradHookList = std::vector<GradHook>;

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                       // leaves (and retain_grad tensors)
  std::shared_ptr<Node> grad_fn;     // non-leaves: the node that produced this tensor
  uint32_t output_nr = 0;            // which output of grad_fn this tensor is
  std::weak_ptr<Node> grad_accumulator;  // leaves: the node that accumulates into grad
  bool is_view = false;              // produced by a view op from a tensor in the graph
  // Views: the base's autograd state this view's history was built from. When the base
  // takes a new history (an in-place op), the view's is rebuilt from it on next use.
  std::weak_ptr<AutogradMeta> view_of;
  bool retains_grad = false;
  std::shared_ptr<GradHookList> hooks;  // null until the first register_hook
  std::vector<PostAccumulateGradHook> post_accumulate_hooks;
};

// The tensor's autograd state, created on first use.
AutogradMeta& autograd_meta(const Tensor& t);
// Null when the tensor never took part in autograd.
inline AutogradMeta* autograd_meta_if(const Tensor& t) {
  return t.defined() ? t.impl().autograd.get() : nullptr;
}

}  // namespace fulgur
