// nn::Module: the base class of every layer and model (torch.nn.Module).
//
// A module owns named parameters (tensors that require grad), named buffers (state that is
// not trained, e.g. running statistics) and named child modules, each kept in registration
// order. Modules are held by std::shared_ptr and are not copyable (they are movable, so that
// `register_module("net", nn::Sequential(...))` can move a temporary into a shared_ptr).
//
//   class Net : public nn::Module {
//    public:
//     Net() {
//       fc1 = register_module("fc1", nn::Linear(784, 128));   // std::shared_ptr<nn::Linear>
//       fc2 = register_module("fc2", nn::Linear(128, 10));
//       scale = register_parameter("scale", ones({1}));        // Tensor& to the stored entry
//     }
//     Tensor forward(const Tensor& x) override { return (*fc2)(F::relu((*fc1)(x))) * scale; }
//     std::string name() const override { return "Net"; }
//     std::shared_ptr<nn::Linear> fc1, fc2;
//     Tensor scale;
//   };
//
// Tensor handles share their TensorImpl, so a member copy of a registered tensor (`scale`
// above) stays the same tensor as the registry's entry: to(), load_state_dict() and
// optimizers all update the data in place (as PyTorch's `param.data = ...` does), never
// replace the handle. Assigning a different tensor to the member does not re-register it;
// call register_parameter/register_buffer again with the same name for that.
//
// Names follow PyTorch exactly: named_parameters() of the module above gives "scale",
// "fc1.weight", "fc1.bias", ...; state_dict() keys are the same dotted names (parameters and
// persistent buffers), and operator<< prints PyTorch's repr.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fulgur/kernels/device.h"
#include "fulgur/kernels/dtype.h"
#include "fulgur/kernels/error.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::nn {

class Module;

// An ordered name -> Tensor list (PyTorch's OrderedDict state_dict): parameters and
// persistent buffers under their dotted names, in registration order. Iterates as
// std::pair<std::string, Tensor>.
class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;
  using iterator = std::vector<Item>::iterator;
  using const_iterator = std::vector<Item>::const_iterator;

  StateDict() = default;
  StateDict(std::initializer_list<Item> items);
  explicit StateDict(std::vector<Item> items);

  // Adds (at the end) or replaces (in place) the entry `key`.
  void insert(const std::string& key, Tensor value);
  bool contains(const std::string& key) const;
  // Throws fulgur::Error naming the key when it is absent.
  const Tensor& at(const std::string& key) const;
  Tensor& at(const std::string& key);
  // Inserts an undefined Tensor when absent (like std::map::operator[]).
  Tensor& operator[](const std::string& key);
  // Null when absent.
  const Tensor* find(const std::string& key) const;
  // Removes `key`; returns whether it was there.
  bool erase(const std::string& key);
  std::vector<std::string> keys() const;
  std::vector<Tensor> values() const;
  const std::vector<Item>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
};

// What load_state_dict(strict = false) could not match (torch's _IncompatibleKeys).
struct IncompatibleKeys {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

template <class M>
concept ModuleType = std::derived_from<M, Module>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  // ---- registration (names: non-empty, no '.'; registering a name again of the same kind
  // replaces the entry in place, a name taken by another kind throws) --------------------
  // Stores t (as a leaf: detached if it has history) and sets requires_grad. An undefined
  // t registers "no parameter" (PyTorch's `register_parameter("bias", None)`): skipped by
  // parameters() and state_dict(). Returns a reference to the stored tensor, valid for the
  // module's lifetime.
  Tensor& register_parameter(std::string name, Tensor t, bool requires_grad = true);
  // A non-persistent buffer is not part of state_dict().
  Tensor& register_buffer(std::string name, Tensor t, bool persistent = true);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from nn::Module");
    register_module_impl(std::move(name), std::static_pointer_cast<Module>(
                                              std::const_pointer_cast<std::remove_const_t<M>>(m)));
    return m;
  }
  // Moves a module given by value into a shared_ptr:
  // `auto net = register_module("net", nn::Sequential(nn::Linear(4, 2), nn::ReLU()));`
  template <ModuleType M>
  std::shared_ptr<M> register_module(std::string name, M m) {
    return register_module(std::move(name), std::make_shared<M>(std::move(m)));
  }

  // ---- traversal (PyTorch order and names; a tensor or module reachable twice is listed
  // once, except in state_dict) ----------------------------------------------------------
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // Self first (named ""), then every descendant, depth first. Self is returned through
  // shared_from_this() when the module is owned by a shared_ptr, else as a non-owning
  // pointer.
  std::vector<std::shared_ptr<Module>> modules();
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(
      const std::string& prefix = "");

  // Direct lookups (this module only); throw fulgur::Error when absent.
  Tensor& parameter(const std::string& name);
  Tensor& buffer(const std::string& name);
  std::shared_ptr<Module> child(const std::string& name) const;
  bool has_parameter(const std::string& name) const;
  bool has_buffer(const std::string& name) const;
  bool has_child(const std::string& name) const;

  // ---- state ----------------------------------------------------------------------------
  // Parameters and persistent buffers, dotted names, in registration order (self first,
  // then each child). The tensors are detached views of the module's own data.
  StateDict state_dict() const;
  // Copies every matching entry into the module's tensors (no_grad, in place; dtype and
  // device converted). Shape mismatches always throw; with strict, missing and unexpected
  // keys throw too, with PyTorch's message:
  //   Error(s) in loading state_dict for Sequential:
  //   \tMissing key(s) in state_dict: "0.bias". 
  //   \tsize mismatch for 0.weight: copying a param with shape [2, 3] from checkpoint, the
  //   shape in current model is [4, 3].
  IncompatibleKeys load_state_dict(const StateDict& state_dict, bool strict = true);

  // ---- mode, device, dtype, gradients ---------------------------------------------------
  Module& train(bool on = true);  // sets the mode of this module and every descendant
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }
  // Moves every parameter, buffer and gradient in place (same handles).
  Module& to(Device device);
  // Converts floating-point parameters, buffers and gradients (others are kept).
  Module& to(DType dtype);
  Module& to(Device device, DType dtype);
  // set_to_none: drop every parameter's grad; else zero it in place.
  void zero_grad(bool set_to_none = true);
  // fn(child) for every descendant (children first, depth first), then fn(*this).
  Module& apply(const std::function<void(Module&)>& fn);

  // ---- printing -------------------------------------------------------------------------
  // The class name as PyTorch prints it ("Linear"); the default is "Module".
  virtual std::string name() const;
  // The part inside the parentheses: "in_features=784, out_features=128, bias=True".
  virtual std::string extra_repr() const;
  // PyTorch's repr(module), children indented.
  std::string repr() const;

  // ---- forward --------------------------------------------------------------------------
  // Modules with one input override this; the default throws fulgur::Error naming the
  // module. A module with other signatures adds its own forward/operator() overloads
  // (then `using Module::forward; using Module::operator();`).
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

 protected:
  // The mode train()/eval() set; subclasses read it through is_training().
  bool training_ = true;

 private:
  struct ParamEntry {
    std::string name;
    Tensor tensor;
  };
  struct BufferEntry {
    std::string name;
    Tensor tensor;
    bool persistent;
  };
  struct ChildEntry {
    std::string name;
    std::shared_ptr<Module> module;
  };

  void register_module_impl(std::string name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what, int kind) const;
  template <typename Entry>
  std::vector<std::pair<std::string, Tensor>> named_tensors(
      bool recurse, std::vector<std::unique_ptr<Entry>> Module::*entries) const;
  void collect_named_modules(const std::string& prefix, std::vector<const Module*>& seen,
                             std::vector<std::pair<std::string, const Module*>>& out) const;
  void collect_state(const std::string& prefix, StateDict& out) const;
  void collect_targets(const std::string& prefix,
                       std::vector<std::pair<std::string, Tensor>>& out) const;
  template <class F>
  void for_each_tensor(F&& fn);

  // Stable addresses: register_* hand out references into these (vectors of unique_ptr
  // so that growing never moves an entry).
  std::vector<std::unique_ptr<ParamEntry>> params_;
  std::vector<std::unique_ptr<BufferEntry>> buffers_;
  std::vector<ChildEntry> children_;
};

// PyTorch's repr: `Sequential(\n  (0): Linear(in_features=4, out_features=2, bias=True)\n)`.
std::ostream& operator<<(std::ostream& os, const Module& m);
template <ModuleType M>
std::ostream& operator<<(std::ostream& os, const std::shared_ptr<M>& m) {
  return os << static_cast<const Module&>(*m);
}

// Python's repr of values, for extra_repr(): repr_float(1e-05) == "1e-05",
// repr_float(0.5) == "0.5", repr_float(1) == "1.0" (shortest round trip, as Python);
// repr_bool(true) == "True"; repr_tuple({2, 3}) == "(2, 3)", repr_tuple({4}) == "(4,)".
std::string repr_float(double v);
std::string repr_bool(bool v);
std::string repr_tuple(IntArrayRef v);

// A module as a shared_ptr: a shared_ptr is passed through, a module given by value (an
// rvalue) is moved into a new one. Used by the containers.
template <class M>
std::shared_ptr<Module> to_module_ptr(std::shared_ptr<M> m) {
  static_assert(std::is_base_of_v<Module, M>, "expected a std::shared_ptr to an nn::Module");
  return m;
}
template <ModuleType M>
  requires(!std::is_lvalue_reference_v<M>)
std::shared_ptr<Module> to_module_ptr(M&& m) {
  return std::make_shared<std::remove_cvref_t<M>>(std::move(m));
}

}  // namespace fulgur::nn
