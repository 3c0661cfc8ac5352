// Tensor's autograd surface (requires_grad, grad, backward, hooks, detach), grad mode, and
// record_op: the data lives here, the behaviour in the engine autograd/ installs.
#include <atomic>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/autograd_meta.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur {
namespace {

std::atomic<AutogradEngine*> g_engine{nullptr};
thread_local bool tls_grad_mode = true;

bool tensor_requires_grad(const Tensor* t) {
  if (!t || !t->defined()) return false;
  if (t->impl().view_base) internal::refresh_view_history(*t);
  const AutogradMeta* meta = t->impl().autograd.get();
  return meta && meta->requires_grad;
}

// Same control block: `view_of` still designates the base's current autograd state.
bool same_owner(const std::weak_ptr<AutogradMeta>& a, const std::shared_ptr<AutogradMeta>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

AutogradEngine* autograd_engine() { return g_engine.load(std::memory_order_acquire); }
void install_autograd_engine(AutogradEngine* engine) { g_engine.store(engine, std::memory_order_release); }

bool grad_mode_enabled() { return tls_grad_mode; }
void set_grad_mode(bool enabled) { tls_grad_mode = enabled; }

bool should_record(std::initializer_list<const Tensor*> inputs) {
  if (!tls_grad_mode || !autograd_engine()) return false;
  for (const Tensor* t : inputs) {
    if (tensor_requires_grad(t)) return true;
  }
  return false;
}

bool any_recording_input(const Tensor* begin, const Tensor* end) {
  if (!tls_grad_mode || !autograd_engine()) return false;
  for (const Tensor* t = begin; t != end; ++t) {
    if (tensor_requires_grad(t)) return true;
  }
  return false;
}

bool tracing_active() { return trace_recorder() != nullptr; }

std::vector<Tensor> record_op(OpId op, const std::vector<Tensor>& inputs, OpAttrs attrs, const RawOp& compute) {
  const bool grad = any_recording_input(inputs.data(), inputs.data() + inputs.size());
  TraceRecorder* recorder = trace_recorder();
  if (!recorder) return grad ? autograd_engine()->record(op, inputs, std::move(attrs), compute) : compute();
  // Traced: the op is reported once, after it ran; the ops its computation calls are not.
  std::vector<Tensor> outputs;
  TraceRecorderGuard suspend(nullptr);
  outputs = grad ? autograd_engine()->record(op, inputs, attrs, compute) : compute();
  recorder->on_op(op, inputs, attrs, outputs);
  return outputs;
}

AutogradMeta& autograd_meta(const Tensor& t) {
  TensorImpl& impl = t.impl();
  if (!impl.autograd) impl.autograd = std::make_shared<AutogradMeta>();
  return *impl.autograd;
}

// ---- Tensor's autograd methods ------------------------------------------------------------
bool Tensor::requires_grad() const { return tensor_requires_grad(this); }

Tensor& Tensor::requires_grad_(bool requires_grad) {
  AutogradMeta* meta = impl().autograd.get();
  FULGUR_CHECK(!(meta && meta->grad_fn) || requires_grad, "requires_grad_",
               "you can only change requires_grad flags of leaf variables; hint: use detach() to get a "
               "tensor without history");
  if (meta && meta->grad_fn) return *this;  // a non-leaf already requires grad
  FULGUR_CHECK(!requires_grad || is_floating_point(), "requires_grad_",
               "only tensors of floating point dtype can require gradients, got ", dtype());
  autograd_meta(*this).requires_grad = requires_grad;
  return *this;
}

const Tensor& Tensor::grad() const {
  static const Tensor undefined;
  const AutogradMeta* meta = impl().autograd.get();
  return meta ? meta->grad : undefined;
}

Tensor& Tensor::mutable_grad() { return autograd_meta(*this).grad; }

bool Tensor::is_leaf() const {
  const AutogradMeta* meta = impl().autograd.get();
  return !meta || !meta->grad_fn;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  const AutogradMeta* meta = impl().autograd.get();
  return meta ? meta->grad_fn : none;
}

Tensor Tensor::detach() const {
  return make_view(storage(), sizes(), strides(), storage_offset(), dtype());
}

Tensor& Tensor::detach_() {
  FULGUR_CHECK(!(impl().autograd && impl().autograd->is_view), "detach_",
               "cannot detach a view in place; hint: use detach()");
  impl().autograd.reset();
  return *this;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  AutogradEngine* engine = autograd_engine();
  FULGUR_CHECK(engine != nullptr, "backward", "no autograd engine is linked into this program; hint: depend on "
               "//autograd (or //:fulgur)");
  engine->backward(*this, gradient, retain_graph, create_graph);
}

void Tensor::retain_grad() const {
  FULGUR_CHECK(requires_grad(), "retain_grad", "can't retain_grad on a tensor that has requires_grad=false");
  if (is_leaf()) return;  // leaves keep their grad anyway
  autograd_meta(*this).retains_grad = true;
}

size_t Tensor::register_hook(std::function<Tensor(const Tensor&)> hook) const {
  FULGUR_CHECK(requires_grad(), "register_hook", "cannot register a hook on a tensor that doesn't require "
               "gradient");
  AutogradMeta& meta = autograd_meta(*this);
  if (!meta.hooks) {
    meta.hooks = std::make_shared<GradHookList>();
    if (meta.grad_fn) autograd_engine()->share_hooks_with_grad_fn(meta);
  }
  meta.hooks->push_back(std::move(hook));
  return meta.hooks->size() - 1;
}

void Tensor::remove_hook(size_t handle) const {
  AutogradMeta* meta = impl().autograd.get();
  FULGUR_CHECK(meta && meta->hooks && handle < meta->hooks->size(), "remove_hook", "no hook with handle ", handle);
  (*meta->hooks)[handle] = nullptr;
}

size_t Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  FULGUR_CHECK(requires_grad() && is_leaf(), "register_post_accumulate_grad_hook",
               "post accumulate grad hooks can only be registered on leaf tensors that require grad");
  auto& hooks = autograd_meta(*this).post_accumulate_hooks;
  hooks.push_back(std::move(hook));
  return hooks.size() - 1;
}

void Tensor::remove_post_accumulate_grad_hook(size_t handle) const {
  if (!impl().autograd) return;
  auto& hooks = impl().autograd->post_accumulate_hooks;
  FULGUR_CHECK(handle < hooks.size(), "remove_post_accumulate_grad_hook", "no hook with handle ", handle,
               " (this tensor has ", hooks.size(), ")");
  hooks[handle] = nullptr;
}

namespace internal {

void refresh_view_history(const Tensor& t) {
  TensorImpl& impl = t.impl();
  if (!impl.view_base) return;
  const std::shared_ptr<AutogradMeta>& base_meta = impl.view_base->autograd;
  // Only a base with history can have moved on (a leaf's history never changes).
  if (!base_meta || !base_meta->grad_fn) return;
  if (impl.autograd && same_owner(impl.autograd->view_of, base_meta)) return;
  if (!is_floating(impl.dtype)) return;
  const Tensor base(impl.view_base);
  if (!base.is_contiguous()) return;  // a geometry we cannot express: keep the old history
  GradModeGuard on(true);  // bookkeeping, whatever the caller's grad mode
  const Tensor fresh = as_strided_view(base, {t.sizes().vec(), t.strides().vec(), t.storage_offset() - base.storage_offset()});
  impl.autograd = fresh.impl().autograd;
}

Tensor& apply_inplace(Tensor& self, std::initializer_list<const Tensor*> others, const char* op,
                      const std::function<Tensor(const Tensor& old)>& out_of_place,
                      const std::function<void()>& raw_inplace) {
  std::initializer_list<const Tensor*> all = others;
  bool record = should_record({&self});
  for (const Tensor* t : all) record = record || should_record({t});
  bool traced = trace_involves({&self});
  for (const Tensor* t : all) traced = traced || trace_involves({t});
  if (!record && !traced) {
    raw_inplace();
    return self;
  }
  if (!record) {
    // Tracing without autograd: the op is traced out of place and self takes the result's place
    // in the trace (the recorder invalidates other views of self's storage).
    Tensor result = out_of_place(self.clone());
    if (result.dtype() != self.dtype()) result = result.to(self.dtype());
    TraceRecorder* recorder = trace_recorder();
    TraceRecorderGuard suspend(nullptr);
    self.copy_(result);
    recorder->on_inplace(self, result);
    return self;
  }
  const AutogradMeta* meta = self.impl().autograd.get();
  FULGUR_CHECK(!(meta && meta->requires_grad && !meta->grad_fn), op,
               "a leaf Variable that requires grad is being used in an in-place operation; hint: do it "
               "under NoGradGuard (e.g. a parameter update) or use the out-of-place op");
  const std::shared_ptr<TensorImpl> base_impl = self.impl().view_base;
  if (!base_impl) {
    Tensor result = out_of_place(self.clone());  // recorded
    if (result.dtype() != self.dtype()) result = result.to(self.dtype());
    {
      GradModeGuard off(false);
      self.copy_(result);
    }
    // self now holds result's value and takes its history (as its own tensor, not a view).
    if (result.impl().autograd) result.impl().autograd->is_view = false;
    self.impl().autograd = result.impl().autograd;
    return self;
  }

  // self is a view: the new values are written into the base's storage, and the base takes a
  // new history, "base with the view's elements replaced" (PyTorch's CopySlices); self's
  // history then views the base's new one.
  Tensor base(base_impl);
  const AutogradMeta* base_meta = base_impl->autograd.get();
  FULGUR_CHECK(!(base_meta && base_meta->requires_grad && !base_meta->grad_fn), op,
               "a view of a leaf Variable that requires grad is being used in an in-place operation; hint: "
               "do it under NoGradGuard, or clone() the leaf first");
  FULGUR_CHECK(base.is_contiguous(), op, "an in-place operation on a view whose base has a non-contiguous layout "
               "(strides ", shape_str(base.strides()), ") cannot be recorded; hint: clone() the view first, or make "
               "the base contiguous before taking the view");
  check_no_internal_overlap(self, op);
  const ViewGeometry g{self.sizes().vec(), self.strides().vec(), self.storage_offset() - base.storage_offset()};
  Tensor result = out_of_place(as_strided_view(base, g).clone());  // recorded from the base's current history
  if (result.dtype() != self.dtype()) result = result.to(self.dtype());
  const Tensor new_base = as_strided_scatter(base, result, g, /*in_place=*/true);
  if (new_base.impl().autograd) new_base.impl().autograd->is_view = false;
  base_impl->autograd = new_base.impl().autograd;
  self.impl().autograd = as_strided_view(base, g).impl().autograd;
  return self;
}

}  // namespace internal
}  // namespace fulgur
