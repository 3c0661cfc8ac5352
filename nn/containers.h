// Containers: Sequential, ModuleList, ModuleDict (torch.nn). Modules can be given by value
// (moved into a shared_ptr) or as std::shared_ptr (shared):
//
//   nn::Sequential net(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
//   net.push_back(nn::Dropout(0.1));
//   auto first = net.at<nn::Linear>(0);     // std::shared_ptr<nn::Linear>
//   Tensor y = net(x);
//
// Children are registered under "0", "1", ... (ModuleDict: under their keys), so names and
// state_dict keys match PyTorch ("0.weight"). A Sequential built from one Sequential
// temporary is that Sequential (the move constructor), not a wrapper around it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fulgur/nn/module.h"

namespace fulgur::nn {

namespace detail {
template <class T>
struct is_module_shared_ptr : std::false_type {};
template <class M>
struct is_module_shared_ptr<std::shared_ptr<M>> : std::bool_constant<std::is_base_of_v<Module, M>> {};
}  // namespace detail

// An argument a container accepts: a module rvalue, or a std::shared_ptr to a module.
template <class T>
concept ModuleArg = (ModuleType<std::remove_cvref_t<T>> && !std::is_lvalue_reference_v<T>) ||
                    detail::is_module_shared_ptr<std::remove_cvref_t<T>>::value;

using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

// Common base of Sequential and ModuleList: children in order, numbered from 0.
class ModuleSequence : public Module {
 public:
  using iterator = std::vector<std::shared_ptr<Module>>::const_iterator;

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Negative indices count from the end; out of range throws fulgur::Error.
  std::shared_ptr<Module> operator[](int64_t index) const;
  // The module at index as M (throws when it is another type).
  template <class M>
  std::shared_ptr<M> at(int64_t index) const {
    auto p = std::dynamic_pointer_cast<M>((*this)[index]);
    FULGUR_CHECK(p != nullptr, "at", name(), "[", index, "] is a ", (*this)[index]->name(),
                 ", not the requested module type");
    return p;
  }
  iterator begin() const { return items_.begin(); }
  iterator end() const { return items_.end(); }
  const std::vector<std::shared_ptr<Module>>& items() const { return items_; }

  // Appends under the name str(size()).
  template <ModuleArg M>
  void push_back(M&& m) {
    append_ptr(std::to_string(items_.size()), to_module_ptr(std::forward<M>(m)));
  }
  template <ModuleArg M>
  void append(M&& m) {
    push_back(std::forward<M>(m));
  }
  // Appends every module of another sequence (shared, not copied).
  void extend(const ModuleSequence& other);

 protected:
  void append_ptr(std::string name, std::shared_ptr<Module> m);

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

class Sequential : public ModuleSequence {
 public:
  Sequential() = default;
  template <ModuleArg... Ms>
    requires(sizeof...(Ms) >= 1)
  explicit Sequential(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  // Named children, in order (PyTorch's Sequential(OrderedDict(...))).
  explicit Sequential(const NamedModules& named);

  using ModuleSequence::push_back;
  // Appends under a chosen name.
  template <ModuleArg M>
  void push_back(std::string name, M&& m) {
    append_ptr(std::move(name), to_module_ptr(std::forward<M>(m)));
  }

  // Each child's forward in order.
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sequential"; }
};

class ModuleList : public ModuleSequence {
 public:
  ModuleList() = default;
  template <ModuleArg... Ms>
    requires(sizeof...(Ms) >= 1)
  explicit ModuleList(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  explicit ModuleList(const std::vector<std::shared_ptr<Module>>& modules);
  std::string name() const override { return "ModuleList"; }
};

class ModuleDict : public Module {
 public:
  using iterator = NamedModules::const_iterator;

  ModuleDict() = default;
  explicit ModuleDict(const NamedModules& items);

  // Adds (or replaces, keeping the position) the module under key.
  template <ModuleArg M>
  std::shared_ptr<Module> insert(const std::string& key, M&& m) {
    return insert_ptr(key, to_module_ptr(std::forward<M>(m)));
  }
  void update(const NamedModules& items);
  // Throws fulgur::Error when key is absent.
  std::shared_ptr<Module> operator[](const std::string& key) const;
  template <class M>
  std::shared_ptr<M> at(const std::string& key) const {
    auto p = std::dynamic_pointer_cast<M>((*this)[key]);
    FULGUR_CHECK(p != nullptr, "at", "ModuleDict[\"", key, "\"] is a ", (*this)[key]->name(),
                 ", not the requested module type");
    return p;
  }
  bool contains(const std::string& key) const;
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<std::string> keys() const;
  std::vector<std::shared_ptr<Module>> values() const;
  const NamedModules& items() const { return items_; }
  iterator begin() const { return items_.begin(); }
  iterator end() const { return items_.end(); }
  std::string name() const override { return "ModuleDict"; }

 private:
  std::shared_ptr<Module> insert_ptr(const std::string& key, std::shared_ptr<Module> m);
  NamedModules items_;
};

}  // namespace fulgur::nn
