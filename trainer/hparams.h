// L::HParams: a model's hyperparameters, a typed dict (Lightning's self.hparams).
//
//   explicit LitModel(L::HParams hp = {})
//       : L::LightningModule(hp.with_defaults({{"hidden", 128}, {"lr", 1e-3}})) {
//     save_hyperparameters();
//     int h = hparam<int>("hidden");
//   }
//
// Values are fulgur::Value (int64, double, bool, string, lists, nested dicts), so the dict
// goes into a checkpoint's "hyper_parameters" unchanged and Python reads it as a dict.
// Keys keep insertion order (as Python's dicts do).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fulgur/tensor/value.h"

namespace fulgur::lightning {

class HParams {
 public:
  using Item = std::pair<std::string, Value>;

  HParams() = default;
  HParams(std::initializer_list<Item> items);  // NOLINT: {{"lr", 1e-3}, {"hidden", 128}}
  // From a Value dict with string keys (a checkpoint's "hyper_parameters"); throws otherwise.
  static HParams from_value(const Value& dict);
  // A Value dict (nested HParams are dicts already).
  const Value& to_value() const { return dict_; }

  // These values, with every key they lack taken from `defaults` (the given values win).
  // Keys come in the defaults' order, then the extra given keys.
  HParams with_defaults(const HParams& defaults) const;
  // These values with `overrides` replacing or adding keys (load_from_checkpoint's kwargs).
  HParams merged(const HParams& overrides) const;

  HParams& set(const std::string& name, Value value);
  bool contains(const std::string& name) const { return dict_.contains(name); }
  bool erase(const std::string& name) { return dict_.erase(name); }
  // Throws fulgur::Error listing the keys when `name` is absent.
  const Value& at(const std::string& name) const;
  std::vector<std::string> keys() const;
  size_t size() const { return dict_.size(); }
  bool empty() const { return dict_.size() == 0; }

  // Typed read. T: bool, an integer type, float/double (an int converts, as Python allows
  // lr=1), std::string, std::vector<int64_t|double|std::string|bool>, HParams (a nested
  // dict) or Value. A value of another kind throws fulgur::Error naming the key and kind.
  template <typename T>
  T get(const std::string& name) const {
    return convert<T>(at(name), name);
  }
  // As get(), or `fallback` when the key is absent.
  template <typename T>
  T get(const std::string& name, T fallback) const {
    return contains(name) ? get<T>(name) : fallback;
  }

  // Python's repr of the dict: {'hidden': 128, 'lr': 0.001}.
  std::string repr() const { return dict_.repr(); }
  friend bool operator==(const HParams& a, const HParams& b) { return a.dict_ == b.dict_; }

 private:
  template <typename T>
  static T convert(const Value& v, const std::string& name);
  [[noreturn]] static void wrong_kind(const Value& v, const std::string& name, const char* wanted);

  Value dict_ = Value::dict();
};

template <typename T>
T HParams::convert(const Value& v, const std::string& name) {
  if constexpr (std::is_same_v<T, Value>) {
    return v;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) wrong_kind(v, name, "bool");
    return v.as_bool();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_int()) wrong_kind(v, name, "int");
    return static_cast<T>(v.as_int());
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) wrong_kind(v, name, "float");
    return static_cast<T>(v.to_double());
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) wrong_kind(v, name, "str");
    return v.as_string();
  } else if constexpr (std::is_same_v<T, HParams>) {
    if (!v.is_dict()) wrong_kind(v, name, "dict");
    return from_value(v);
  } else {
    // std::vector<E>
    using E = typename T::value_type;
    if (!v.is_sequence()) wrong_kind(v, name, "list");
    T out;
    for (size_t i = 0; i < v.elements().size(); ++i) {
      out.push_back(convert<E>(v.elements()[i], name + "[" + std::to_string(i) + "]"));
    }
    return out;
  }
}

}  // namespace fulgur::lightning
