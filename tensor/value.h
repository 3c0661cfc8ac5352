// Value: a tree of Python-like values, the objects a PyTorch checkpoint holds. torch.save
// pickles state dicts made of None, bool, int, float, str, tensors, lists, tuples and dicts
// (str keys for module state dicts and param groups, int keys for an optimizer's per-parameter
// state); Value models exactly those, so fulgur::save/load can read and write them and
// optimizers and schedulers can describe their state the way PyTorch lays it out.
//
// Values are C++ values: copying a Value copies its lists and dicts; tensors inside are
// shared (a Tensor is a reference, as in Python). Dicts keep insertion order, like Python's.
// Accessors of the wrong kind throw fulgur::Error naming the kind found.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur {

// A dict key: an integer or a string (what state dicts use; Python allows more).
class DictKey {
 public:
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  DictKey(T i) : is_int_(true), int_(static_cast<int64_t>(i)) {}  // NOLINT
  DictKey(std::string s) : str_(std::move(s)) {}                   // NOLINT
  DictKey(std::string_view s) : str_(s) {}                         // NOLINT
  DictKey(const char* s) : str_(s) {}                              // NOLINT

  bool is_int() const { return is_int_; }
  bool is_string() const { return !is_int_; }
  int64_t as_int() const;
  const std::string& as_string() const;
  std::string repr() const;  // 3 or 'lr', as Python prints it

  friend bool operator==(const DictKey& a, const DictKey& b) {
    return a.is_int_ == b.is_int_ && (a.is_int_ ? a.int_ == b.int_ : a.str_ == b.str_);
  }

 private:
  bool is_int_ = false;
  int64_t int_ = 0;
  std::string str_;
};

class Value {
 public:
  enum class Kind : uint8_t { None, Bool, Int, Double, String, Tensor, List, Tuple, Dict };
  using Item = std::pair<DictKey, Value>;

  // ---- construction --------------------------------------------------------------------
  Value() = default;  // None
  Value(std::nullptr_t) {}  // NOLINT: None
  template <typename T, std::enable_if_t<std::is_same_v<T, bool>, int> = 0>
  Value(T b) : data_(b) {}  // NOLINT
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T i) : data_(static_cast<int64_t>(i)) {}  // NOLINT
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Value(T d) : data_(static_cast<double>(d)) {}  // NOLINT
  Value(std::string s) : data_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : data_(std::string(s)) {}  // NOLINT
  Value(const char* s) : data_(std::string(s)) {}  // NOLINT: else a literal would become a bool
  Value(Tensor t) : data_(std::move(t)) {}  // NOLINT

  static Value none() { return Value(); }
  static Value list(std::vector<Value> items = {});
  static Value tuple(std::vector<Value> items = {});
  // Later duplicates of a key replace the earlier value (as in a Python dict literal).
  static Value dict(std::vector<Item> items = {});

  // ---- kind ----------------------------------------------------------------------------
  Kind kind() const { return static_cast<Kind>(data_.index()); }
  // Python's type name: NoneType, bool, int, float, str, Tensor, list, tuple, dict.
  static const char* kind_name(Kind kind);
  const char* type_name() const { return kind_name(kind()); }
  bool is_none() const { return kind() == Kind::None; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_double() const { return kind() == Kind::Double; }
  bool is_number() const { return is_int() || is_double(); }  // int or float, not bool
  bool is_string() const { return kind() == Kind::String; }
  bool is_tensor() const { return kind() == Kind::Tensor; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_tuple() const { return kind() == Kind::Tuple; }
  bool is_sequence() const { return is_list() || is_tuple(); }
  bool is_dict() const { return kind() == Kind::Dict; }

  // ---- leaves: exact kind, else fulgur::Error -------------------------------------------
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  const Tensor& as_tensor() const;
  // An int or a float as double (Python code mixes them: lr=1 and lr=0.1 both work).
  double to_double() const;

  // ---- lists and tuples ----------------------------------------------------------------
  const std::vector<Value>& as_list() const;
  std::vector<Value>& as_list();
  const std::vector<Value>& as_tuple() const;
  std::vector<Value>& as_tuple();
  // The elements of a list or a tuple.
  const std::vector<Value>& elements() const;
  const Value& operator[](size_t index) const;  // list or tuple; index checked
  Value& operator[](size_t index);
  Value& push_back(Value v);  // list only; returns *this

  // ---- dicts ---------------------------------------------------------------------------
  // Lookup is a linear scan: state dicts are small (a few thousand keys at most).
  bool contains(const DictKey& key) const { return find(key) != nullptr; }
  const Value* find(const DictKey& key) const;  // null if absent
  Value* find(const DictKey& key);
  const Value& at(const DictKey& key) const;  // throws, listing the keys, if absent
  Value& at(const DictKey& key);
  // Inserts at the end, or replaces the value in place (the key keeps its position, as in
  // Python). Returns *this, so calls chain: Value::dict().set("lr", 0.1).set("eps", 1e-8).
  Value& set(const DictKey& key, Value v);
  bool erase(const DictKey& key);  // false if absent
  const std::vector<Item>& items() const;
  std::vector<DictKey> keys() const;

  // Number of elements of a list, tuple or dict, or characters of a string.
  size_t size() const;

  // Python's ==: numbers compare by value (1 == 1.0 == True), dicts ignore order, lists and
  // tuples never equal each other. Tensors have no single truth value: comparing one throws
  // (use fulgur::equal on as_tensor()).
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

  // Python's repr: {'lr': 0.001, 'betas': (0.9, 0.999), 'params': [0, 1]}. Floats use the
  // shortest round-trip digits, as Python does; tensors print as tensor(float32, [3, 4]).
  std::string repr() const;

 private:
  // Lists and tuples share a type; the variant's index (Kind) tells them apart.
  struct Seq {
    std::vector<Value> items;
  };
  struct Dict {
    std::vector<Item> items;
  };
  std::variant<std::monostate, bool, int64_t, double, std::string, Tensor, Seq, Seq, Dict> data_;

  const Seq& seq(const char* what) const;
  Seq& seq(const char* what);
  const Dict& dict_data(const char* what) const;
  Dict& dict_data(const char* what);
};

std::ostream& operator<<(std::ostream& os, const Value& v);

// A copy of v with every tensor in it (nested in lists, tuples and dicts at any depth)
// replaced by fn(tensor); everything else is kept as is. Lightning's apply_to_collection
// over tensors: moving a batch to a device, pinning it, casting it.
Value map_tensors(const Value& v, const std::function<Tensor(const Tensor&)>& fn);

// Python's repr of a float: shortest round-trip digits, "1.0", "1e-08", "inf", "nan".
std::string float_repr(double v);

}  // namespace fulgur
