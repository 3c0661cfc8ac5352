// The autograd engine: records differentiable ops as graph nodes and runs backward.
//
// Backward is iterative: dependencies are counted with an explicit stack, then nodes run
// from a ready queue ordered by creation (latest first), so graph depth never becomes
// recursion depth. Saved tensors are released as each node finishes unless the graph is
// retained. Node destruction is iterative too (detail::delete_node).
#include <cmath>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "fulgur/autograd/autograd.h"
#include "fulgur/autograd/formulas.h"
#include "fulgur/autograd/node.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {

// ---- saved tensors ---------------------------------------------------------------------
SavedTensor::SavedTensor(const Tensor& t) : tensor_(t), version_(t.defined() ? t.storage()->version() : 0) {}

Tensor SavedTensor::unpack(const char* op) const {
  FULGUR_CHECK(!released_, op, "trying to backward through the graph a second time (or directly access "
               "saved tensors after they have already been freed); hint: pass retain_graph=true to "
               "the first backward()");
  if (!tensor_.defined()) return tensor_;
  const uint64_t now = tensor_.storage()->version();
  FULGUR_CHECK(now == version_, op, "one of the tensors needed for gradient computation has been modified "
               "by an inplace operation: [", tensor_.dtype(), " ", shape_str(tensor_.sizes()), "] is at version ",
               now, "; expected version ", version_, " instead; hint: replace the in-place op (the one "
               "after ", op, " in the forward pass) by its out-of-place form, or clone() the tensor first");
  return tensor_;
}

// ---- iterative node deletion -----------------------------------------------------------
namespace detail {

void delete_node(Node* node) {
  // Deleting a node drops its edges, which may delete the next nodes, and so on: do it with
  // an explicit stack instead of recursion.
  thread_local std::vector<std::shared_ptr<Node>>* pending = nullptr;
  thread_local bool draining = false;
  std::vector<std::shared_ptr<Node>> local;
  if (!pending) pending = &local;
  for (Edge& e : node->next_edges) {
    if (e.node) pending->push_back(std::move(e.node));
  }
  delete node;
  if (draining) return;
  draining = true;
  while (!pending->empty()) {
    std::shared_ptr<Node> next = std::move(pending->back());
    pending->pop_back();
    next.reset();  // may call delete_node, which appends to *pending
  }
  draining = false;
  if (pending == &local) pending = nullptr;
}

}  // namespace detail

namespace autograd {
namespace {

thread_local bool tls_anomaly = false;
bool g_anomaly = false;

// Runs gradient hooks in registration order; each may replace the gradient.
Tensor run_hooks(const GradHookList& hooks, Tensor g) {
  for (const GradHook& hook : hooks) {
    if (!hook) continue;
    Tensor replaced = hook(g);
    if (replaced.defined()) g = std::move(replaced);
  }
  return g;
}

// Accumulates into a leaf's .grad(), after the leaf's hooks.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}

  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor g = std::move(grads[0]);
    if (!g.defined()) return {};
    Tensor leaf(leaf_);
    AutogradMeta& meta = autograd_meta(leaf);
    if (meta.hooks) g = run_hooks(*meta.hooks, std::move(g));
    if (!meta.grad.defined()) {
      // .grad() is laid out like a fresh tensor (optimizers' fused loops want contiguous
      // gradients; a weight used as w.t() gets its gradient transposed).
      if (!g.is_contiguous()) g = g.contiguous();
      // Keep the incoming buffer when nobody else holds it, else copy: .grad() must not alias
      // another tensor.
      const bool exclusive = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1;
      meta.grad = grad_mode_enabled() ? g : (exclusive ? g.detach() : g.detach().clone());
      if (meta.grad.dtype() != leaf.dtype()) meta.grad = meta.grad.to(leaf.dtype());
    } else if (grad_mode_enabled()) {
      meta.grad = meta.grad.add(g);  // create_graph: keep the sum differentiable
    } else {
      meta.grad.add_(g);
    }
    for (const PostAccumulateGradHook& hook : meta.post_accumulate_hooks) {
      if (hook) hook(leaf);
    }
    return {};
  }
  std::string name() const override { return "AccumulateGrad"; }
  const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// The edge a gradient for `t` must follow: its grad_fn, or its leaf accumulator.
Edge gradient_edge(const Tensor& t) {
  if (t.defined() && t.impl().view_base) internal::refresh_view_history(t);
  AutogradMeta* meta = autograd_meta_if(t);
  if (!meta || !meta->requires_grad) return {};
  if (meta->grad_fn) return {meta->grad_fn, meta->output_nr};
  std::shared_ptr<Node> acc = meta->grad_accumulator.lock();
  if (!acc) {
    acc = make_node<AccumulateGrad>(t.impl_ptr());
    meta->grad_accumulator = acc;
  }
  return {acc, 0};
}

uint64_t next_sequence_nr() {
  thread_local uint64_t counter = 0;
  return ++counter;
}

bool all_finite(const Tensor& t) {
  if (!t.defined() || !t.is_floating_point() || t.numel() == 0) return true;
  NoGradGuard guard;
  return isfinite(t).all().item<bool>();
}

struct CaptureKey {
  Node* node;
  uint32_t slot;
  bool operator==(const CaptureKey& o) const { return node == o.node && slot == o.slot; }
};
struct CaptureHash {
  size_t operator()(const CaptureKey& k) const { return std::hash<Node*>()(k.node) ^ (k.slot * 0x9e3779b97f4a7c15ull); }
};

// Runs backward from `roots` with `grad_roots`. With captures, gradients arriving at those
// (node, slot) pairs are stored in *captured instead of being accumulated into leaves.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots, bool retain_graph,
                  bool create_graph, const std::vector<CaptureKey>* captures, std::vector<Tensor>* captured) {
  FULGUR_CHECK(grad_roots.empty() || grad_roots.size() == roots.size(), "backward", "got ", roots.size(),
               " tensors and ", grad_roots.size(), " gradients");
  std::vector<Edge> root_edges;
  std::vector<Tensor> root_grads;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    FULGUR_CHECK(r.defined(), "backward", "a root tensor is undefined");
    Edge e = gradient_edge(r);
    FULGUR_CHECK(e.valid(), "backward", "element ", i, " of tensors does not require grad and does not have a "
                 "grad_fn; hint: call requires_grad_() on the inputs before the forward pass");
    Tensor g = grad_roots.empty() ? Tensor() : grad_roots[i];
    if (!g.defined()) {
      FULGUR_CHECK(r.numel() == 1, "backward", "grad can be implicitly created only for scalar outputs, but the "
                   "output has shape ", shape_str(r.sizes()), "; hint: pass a gradient of the same shape");
      g = ones_like(r);
    } else {
      FULGUR_CHECK(g.sizes() == r.sizes(), "backward", "mismatch in shape: grad_output has a shape of ",
                   shape_str(g.sizes()), " and output has a shape of ", shape_str(r.sizes()));
    }
    root_edges.push_back(e);
    root_grads.push_back(g);
  }

  // Dependency counts over the reachable graph (iterative DFS).
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (const Edge& e : root_edges) {
    if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.node) continue;
      ++deps[e.node.get()];
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
  }

  std::unordered_map<CaptureKey, size_t, CaptureHash> capture_index;
  if (captures) {
    for (size_t i = 0; i < captures->size(); ++i) capture_index[(*captures)[i]] = i;
    captured->assign(captures->size(), Tensor());
  }

  // Input buffers: the gradients arriving for each output of a node.
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto deliver = [&](const Edge& e, Tensor g) {
    if (!e.node || !g.defined()) return;
    std::vector<Tensor>& buf = buffers[e.node.get()];
    const size_t n = std::max<size_t>(e.node->outputs.size(), e.input_nr + 1);
    if (buf.size() < n) buf.resize(n);
    Tensor& slot = buf[e.input_nr];
    slot = slot.defined() ? slot.add(g) : std::move(g);
  };
  struct Ready {
    uint64_t seq;
    std::shared_ptr<Node> node;
    bool operator<(const Ready& o) const { return seq < o.seq; }
  };
  std::priority_queue<Ready> ready;
  for (size_t i = 0; i < root_edges.size(); ++i) deliver(root_edges[i], root_grads[i]);
  for (const Edge& e : root_edges) {
    if (deps[e.node.get()] == 0) {
      deps[e.node.get()] = -1;  // queued
      ready.push({e.node->sequence_nr, e.node});
    }
  }

  SetGradEnabled mode(create_graph);
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.top().node;
    ready.pop();
    std::vector<Tensor> grads = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    grads.resize(std::max(grads.size(), node->outputs.size()));

    // Tensor hooks (held by the node) and retain_grad (only while the tensor lives) of this
    // node's outputs.
    for (size_t i = 0; i < node->output_hooks.size() && i < grads.size(); ++i) {
      if (node->output_hooks[i] && grads[i].defined()) grads[i] = run_hooks(*node->output_hooks[i], std::move(grads[i]));
    }
    for (size_t i = 0; i < node->output_metas.size() && i < grads.size(); ++i) {
      std::shared_ptr<AutogradMeta> meta = node->output_metas[i].lock();
      if (!meta || !grads[i].defined()) continue;
      if (meta->retains_grad) {
        meta->grad = meta->grad.defined() ? meta->grad.add(grads[i]) : (create_graph ? grads[i] : grads[i].detach().clone());
      }
    }

    bool is_accumulator = dynamic_cast<AccumulateGrad*>(node.get()) != nullptr;
    if (captures) {
      for (size_t i = 0; i < grads.size(); ++i) {
        auto it = capture_index.find({node.get(), static_cast<uint32_t>(i)});
        if (it != capture_index.end() && grads[i].defined()) (*captured)[it->second] = grads[i];
      }
      if (is_accumulator) continue;  // grad(): never accumulate into leaves
    }

    // A node whose saved tensors were released throws from SavedTensor::unpack; one that
    // saved nothing may run again, as in PyTorch.
    std::vector<Tensor> input_grads = node->apply(std::move(grads));
    if (is_anomaly_enabled()) {
      for (size_t i = 0; i < input_grads.size(); ++i) {
        FULGUR_CHECK(all_finite(input_grads[i]), "backward", "function '", node->name(), "' returned nan or inf values in its ",
                     i, "th output; the forward op that created it was '", node->forward_op,
                     "' (anomaly mode is on)");
      }
    }
    if (!retain_graph && !is_accumulator) node->release_saved();
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.node) continue;
      if (i < input_grads.size()) deliver(e, std::move(input_grads[i]));
      int& d = deps[e.node.get()];
      if (--d == 0) {
        d = -1;
        ready.push({e.node->sequence_nr, e.node});
      }
    }
  }
}

class Engine final : public AutogradEngine {
 public:
  std::vector<Tensor> record(OpId op, const std::vector<Tensor>& inputs, OpAttrs attrs, const RawOp& compute) override {
    std::vector<Tensor> outputs;
    {
      NoGradGuard guard;
      outputs = compute();
    }
    std::shared_ptr<OpNode> node = make_op_node(op, inputs, std::move(attrs), outputs);
    if (!node) return outputs;  // not differentiable for these outputs (e.g. integer results)
    node->sequence_nr = next_sequence_nr();
    for (const Tensor& in : inputs) node->next_edges.push_back(gradient_edge(in));
    node->output_metas.resize(outputs.size());
    node->outputs.resize(outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      for (const Tensor& in : inputs) {
        // Never give an input a new history: alias it under a fresh handle instead.
        if (outputs[i].is_same(in)) {
          outputs[i] = make_view(in.storage(), in.sizes(), in.strides(), in.storage_offset(), in.dtype());
        }
      }
      const Tensor& out = outputs[i];
      node->outputs[i] = {out.sizes().vec(), out.dtype(), out.device()};
      if (!out.is_floating_point()) continue;  // indices and masks carry no gradient
      // A fresh output handle: the raw op may have returned an input itself (e.g. to() of
      // the same dtype never records, but contiguous() of a contiguous tensor would).
      auto meta = std::make_shared<AutogradMeta>();
      meta->requires_grad = true;
      meta->grad_fn = node;
      meta->output_nr = static_cast<uint32_t>(i);
      meta->is_view = is_view_op(op);
      if (meta->is_view && out.impl().view_base) meta->view_of = out.impl().view_base->autograd;
      outputs[i].impl().autograd = meta;
      node->output_metas[i] = meta;
    }
    return outputs;
  }

  void backward(const Tensor& root, const Tensor& gradient, bool retain_graph, bool create_graph) override {
    run_backward({root}, {gradient}, retain_graph || create_graph, create_graph, nullptr, nullptr);
  }

  void share_hooks_with_grad_fn(const AutogradMeta& meta) override {
    Node& node = *meta.grad_fn;
    if (node.output_hooks.size() <= meta.output_nr) node.output_hooks.resize(meta.output_nr + 1);
    node.output_hooks[meta.output_nr] = meta.hooks;
  }
};

Engine& engine() {
  static Engine* e = new Engine();
  return *e;
}

// Installed before main() in every binary that links this library (alwayslink).
const bool installed_at_startup = (install_autograd_engine(&engine()), true);

}  // namespace

void ensure_installed() {
  (void)installed_at_startup;
  install_autograd_engine(&engine());
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const GradOptions& options) {
  ensure_installed();
  std::vector<CaptureKey> captures;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    FULGUR_CHECK(x.defined() && x.requires_grad(), "grad", "input ", i, " does not require grad; hint: call "
                 "requires_grad_() on it before the forward pass");
    Edge e = gradient_edge(x);
    captures.push_back({e.node.get(), e.input_nr});
  }
  std::vector<Tensor> result;
  const bool retain = options.retain_graph.value_or(options.create_graph);
  run_backward(outputs, options.grad_outputs, retain, options.create_graph, &captures, &result);
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined()) {
      FULGUR_CHECK(options.allow_unused, "grad", "one of the differentiated tensors (input ", i,
                   ") appears to not have been used in the graph; hint: set allow_unused=true if this is "
                   "the desired behavior");
      continue;
    }
    if (!options.create_graph) result[i] = result[i].detach();
    if (result[i].dtype() != inputs[i].dtype()) result[i] = result[i].to(inputs[i].dtype());
  }
  return result;
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grad_roots, bool retain_graph,
              bool create_graph) {
  ensure_installed();
  run_backward(roots, grad_roots, retain_graph || create_graph, create_graph, nullptr, nullptr);
}

void set_detect_anomaly(bool enabled) { g_anomaly = enabled; }
bool is_anomaly_enabled() { return g_anomaly || tls_anomaly; }

}  // namespace autograd
}  // namespace fulgur
