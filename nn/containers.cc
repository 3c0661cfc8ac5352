#include "fulgur/nn/containers.h"

namespace fulgur::nn {

std::shared_ptr<Module> ModuleSequence::operator[](int64_t index) const {
  const int64_t n = static_cast<int64_t>(items_.size());
  FULGUR_CHECK(index >= -n && index < n, "operator[]", "index ", index, " is out of range for ", name(),
               " of size ", n);
  return items_[static_cast<size_t>(index < 0 ? index + n : index)];
}

void ModuleSequence::append_ptr(std::string name, std::shared_ptr<Module> m) {
  FULGUR_CHECK(m != nullptr, this->name().c_str(), "cannot append a null module");
  register_module(std::move(name), m);
  items_.push_back(std::move(m));
}

void ModuleSequence::extend(const ModuleSequence& other) {
  const std::vector<std::shared_ptr<Module>> copy = other.items_;  // other may be *this
  for (const auto& m : copy) push_back(m);
}

Sequential::Sequential(const NamedModules& named) {
  for (const auto& [n, m] : named) push_back(n, m);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& m : *this) y = (*m)(y);
  return y;
}

ModuleList::ModuleList(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) push_back(m);
}

ModuleDict::ModuleDict(const NamedModules& items) { update(items); }

void ModuleDict::update(const NamedModules& items) {
  for (const auto& [k, m] : items) insert_ptr(k, m);
}

std::shared_ptr<Module> ModuleDict::insert_ptr(const std::string& key, std::shared_ptr<Module> m) {
  FULGUR_CHECK(m != nullptr, "ModuleDict::insert", "cannot insert a null module under \"", key, "\"");
  register_module(key, m);
  for (auto& item : items_) {
    if (item.first == key) {
      item.second = m;
      return m;
    }
  }
  items_.emplace_back(key, m);
  return m;
}

std::shared_ptr<Module> ModuleDict::operator[](const std::string& key) const {
  for (const auto& item : items_)
    if (item.first == key) return item.second;
  FULGUR_FAIL("ModuleDict", "no module under key \"", key, "\" (", items_.size(), " keys)");
}

bool ModuleDict::contains(const std::string& key) const {
  for (const auto& item : items_)
    if (item.first == key) return true;
  return false;
}

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> out;
  for (const auto& item : items_) out.push_back(item.first);
  return out;
}

std::vector<std::shared_ptr<Module>> ModuleDict::values() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& item : items_) out.push_back(item.second);
  return out;
}

}  // namespace fulgur::nn
