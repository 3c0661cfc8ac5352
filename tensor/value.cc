// Value: accessors, Python's equality and Python's repr (so that printed state dicts read
// the same in both worlds).
#include "fulgur/tensor/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace fulgur {
namespace {

constexpr size_t kSeqIndex = static_cast<size_t>(Value::Kind::List);
constexpr size_t kTupleIndex = static_cast<size_t>(Value::Kind::Tuple);

std::string string_repr(const std::string& s) {
  // Python picks double quotes only when that avoids escaping.
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;  // UTF-8 passes through, as Python prints printable characters
    }
  }
  out += quote;
  return out;
}

}  // namespace

// ---- DictKey ------------------------------------------------------------------------------
int64_t DictKey::as_int() const {
  FULGUR_CHECK(is_int_, "DictKey::as_int", "the key is the string ", repr(), ", not an int");
  return int_;
}

const std::string& DictKey::as_string() const {
  FULGUR_CHECK(!is_int_, "DictKey::as_string", "the key is the int ", int_, ", not a string");
  return str_;
}

std::string DictKey::repr() const { return is_int_ ? std::to_string(int_) : string_repr(str_); }

// ---- construction and kind ------------------------------------------------------------------
Value Value::list(std::vector<Value> items) {
  Value v;
  v.data_.emplace<kSeqIndex>(Seq{std::move(items)});
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v;
  v.data_.emplace<kTupleIndex>(Seq{std::move(items)});
  return v;
}

Value Value::dict(std::vector<Item> items) {
  Value v;
  v.data_.emplace<Dict>();
  for (auto& [key, value] : items) v.set(key, std::move(value));
  return v;
}

const char* Value::kind_name(Kind kind) {
  switch (kind) {
    case Kind::None: return "NoneType";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Double: return "float";
    case Kind::String: return "str";
    case Kind::Tensor: return "Tensor";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
  }
  return "?";
}

// ---- leaves ---------------------------------------------------------------------------------
bool Value::as_bool() const {
  FULGUR_CHECK(is_bool(), "Value::as_bool", "expected a bool, got ", type_name(), " ", repr());
  return std::get<bool>(data_);
}

int64_t Value::as_int() const {
  FULGUR_CHECK(is_int(), "Value::as_int", "expected an int, got ", type_name(), " ", repr());
  return std::get<int64_t>(data_);
}

double Value::as_double() const {
  FULGUR_CHECK(is_double(), "Value::as_double", "expected a float, got ", type_name(), " ", repr(),
               is_int() ? "; hint: to_double() accepts ints too" : "");
  return std::get<double>(data_);
}

const std::string& Value::as_string() const {
  FULGUR_CHECK(is_string(), "Value::as_string", "expected a str, got ", type_name());
  return std::get<std::string>(data_);
}

const Tensor& Value::as_tensor() const {
  FULGUR_CHECK(is_tensor(), "Value::as_tensor", "expected a Tensor, got ", type_name());
  return std::get<Tensor>(data_);
}

double Value::to_double() const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(data_));
  FULGUR_CHECK(is_double(), "Value::to_double", "expected an int or a float, got ", type_name());
  return std::get<double>(data_);
}

// ---- lists and tuples -----------------------------------------------------------------------
const Value::Seq& Value::seq(const char* what) const {
  FULGUR_CHECK(is_sequence(), what, "expected a list or tuple, got ", type_name());
  return is_list() ? std::get<kSeqIndex>(data_) : std::get<kTupleIndex>(data_);
}

Value::Seq& Value::seq(const char* what) {
  FULGUR_CHECK(is_sequence(), what, "expected a list or tuple, got ", type_name());
  return is_list() ? std::get<kSeqIndex>(data_) : std::get<kTupleIndex>(data_);
}

const std::vector<Value>& Value::as_list() const {
  FULGUR_CHECK(is_list(), "Value::as_list", "expected a list, got ", type_name(),
               is_tuple() ? "; hint: elements() reads lists and tuples" : "");
  return std::get<kSeqIndex>(data_).items;
}

std::vector<Value>& Value::as_list() {
  FULGUR_CHECK(is_list(), "Value::as_list", "expected a list, got ", type_name(),
               is_tuple() ? "; hint: elements() reads lists and tuples" : "");
  return std::get<kSeqIndex>(data_).items;
}

const std::vector<Value>& Value::as_tuple() const {
  FULGUR_CHECK(is_tuple(), "Value::as_tuple", "expected a tuple, got ", type_name(),
               is_list() ? "; hint: elements() reads lists and tuples" : "");
  return std::get<kTupleIndex>(data_).items;
}

std::vector<Value>& Value::as_tuple() {
  FULGUR_CHECK(is_tuple(), "Value::as_tuple", "expected a tuple, got ", type_name(),
               is_list() ? "; hint: elements() reads lists and tuples" : "");
  return std::get<kTupleIndex>(data_).items;
}

const std::vector<Value>& Value::elements() const { return seq("Value::elements").items; }

const Value& Value::operator[](size_t index) const {
  const auto& items = seq("Value::operator[]").items;
  FULGUR_CHECK(index < items.size(), "Value::operator[]", "index ", index, " is out of range for a ",
               type_name(), " of size ", items.size());
  return items[index];
}

Value& Value::operator[](size_t index) {
  auto& items = seq("Value::operator[]").items;
  FULGUR_CHECK(index < items.size(), "Value::operator[]", "index ", index, " is out of range for a ",
               type_name(), " of size ", items.size());
  return items[index];
}

Value& Value::push_back(Value v) {
  as_list().push_back(std::move(v));
  return *this;
}

// ---- dicts ----------------------------------------------------------------------------------
const Value::Dict& Value::dict_data(const char* what) const {
  FULGUR_CHECK(is_dict(), what, "expected a dict, got ", type_name());
  return std::get<Dict>(data_);
}

Value::Dict& Value::dict_data(const char* what) {
  FULGUR_CHECK(is_dict(), what, "expected a dict, got ", type_name());
  return std::get<Dict>(data_);
}

const Value* Value::find(const DictKey& key) const {
  for (const auto& item : dict_data("Value::find").items)
    if (item.first == key) return &item.second;
  return nullptr;
}

Value* Value::find(const DictKey& key) {
  for (auto& item : dict_data("Value::find").items)
    if (item.first == key) return &item.second;
  return nullptr;
}

const Value& Value::at(const DictKey& key) const {
  const Value* v = find(key);
  if (!v) {
    std::string keys;
    const auto& items = std::get<Dict>(data_).items;
    for (size_t i = 0; i < items.size() && i < 20; ++i) keys += (i ? ", " : "") + items[i].first.repr();
    if (items.size() > 20) keys += ", ...";
    FULGUR_FAIL("Value::at", "no key ", key.repr(), " in a dict with keys [", keys, "]");
  }
  return *v;
}

Value& Value::at(const DictKey& key) {
  return const_cast<Value&>(static_cast<const Value*>(this)->at(key));
}

Value& Value::set(const DictKey& key, Value v) {
  auto& items = dict_data("Value::set").items;
  for (auto& item : items) {
    if (item.first == key) {
      item.second = std::move(v);
      return *this;
    }
  }
  items.emplace_back(key, std::move(v));
  return *this;
}

bool Value::erase(const DictKey& key) {
  auto& items = dict_data("Value::erase").items;
  for (auto it = items.begin(); it != items.end(); ++it) {
    if (it->first == key) {
      items.erase(it);
      return true;
    }
  }
  return false;
}

const std::vector<Value::Item>& Value::items() const { return dict_data("Value::items").items; }

std::vector<DictKey> Value::keys() const {
  std::vector<DictKey> out;
  for (const auto& item : items()) out.push_back(item.first);
  return out;
}

size_t Value::size() const {
  if (is_string()) return as_string().size();
  if (is_dict()) return std::get<Dict>(data_).items.size();
  FULGUR_CHECK(is_sequence(), "Value::size", "a ", type_name(), " has no size; hint: size() is for str, list, "
               "tuple and dict");
  return seq("Value::size").items.size();
}

// ---- equality -------------------------------------------------------------------------------
bool operator==(const Value& a, const Value& b) {
  using Kind = Value::Kind;
  const bool a_num = a.is_bool() || a.is_number(), b_num = b.is_bool() || b.is_number();
  if (a_num && b_num) {
    auto as_int = [](const Value& v) { return v.is_bool() ? int64_t{v.as_bool()} : v.as_int(); };
    if (!a.is_double() && !b.is_double()) return as_int(a) == as_int(b);
    auto as_dbl = [&](const Value& v) { return v.is_double() ? v.as_double() : static_cast<double>(as_int(v)); };
    return as_dbl(a) == as_dbl(b);
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::None: return true;
    case Kind::String: return a.as_string() == b.as_string();
    case Kind::Tensor:
      FULGUR_FAIL("Value::operator==", "a Tensor has no single truth value; hint: compare the tensors with "
                  "fulgur::equal(a.as_tensor(), b.as_tensor())");
    case Kind::List:
    case Kind::Tuple: return a.elements() == b.elements();
    case Kind::Dict: {
      if (a.size() != b.size()) return false;
      for (const auto& [key, value] : a.items()) {
        const Value* other = b.find(key);
        if (!other || !(value == *other)) return false;
      }
      return true;
    }
    default: return false;  // numbers handled above
  }
}

// ---- repr -----------------------------------------------------------------------------------
std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Shortest round-trip digits d1.d2d3...e<exp>, then Python's layout: fixed notation when
  // the exponent is in [-4, 16), scientific otherwise (repr(1e-05) == '1e-05').
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  const int exp10 = std::atoi(sci.c_str() + e_pos + 1);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  if (exp10 < -4 || exp10 >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof(e), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return out + e;
  }
  std::string out;
  if (exp10 < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
  } else {
    const size_t int_digits = static_cast<size_t>(exp10) + 1;
    if (digits.size() <= int_digits) {
      out = digits + std::string(int_digits - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_digits) + "." + digits.substr(int_digits);
    }
  }
  return sign + out;
}

std::string Value::repr() const {
  switch (kind()) {
    case Kind::None: return "None";
    case Kind::Bool: return as_bool() ? "True" : "False";
    case Kind::Int: return std::to_string(as_int());
    case Kind::Double: return float_repr(as_double());
    case Kind::String: return string_repr(as_string());
    case Kind::Tensor: {
      const Tensor& t = as_tensor();
      if (!t.defined()) return "tensor(undefined)";
      return "tensor(" + std::string(dtype_name(t.dtype())) + ", " + shape_str(t.sizes()) + ")";
    }
    case Kind::List:
    case Kind::Tuple: {
      const auto& items = elements();
      std::string out = is_list() ? "[" : "(";
      for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i].repr();
      if (is_tuple() && items.size() == 1) out += ",";
      return out + (is_list() ? "]" : ")");
    }
    case Kind::Dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, value] : items()) {
        out += (first ? "" : ", ") + key.repr() + ": " + value.repr();
        first = false;
      }
      return out + "}";
    }
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, const Value& v) { return os << v.repr(); }

Value map_tensors(const Value& v, const std::function<Tensor(const Tensor&)>& fn) {
  if (v.is_tensor()) return Value(fn(v.as_tensor()));
  if (v.is_sequence()) {
    std::vector<Value> items;
    items.reserve(v.elements().size());
    for (const Value& e : v.elements()) items.push_back(map_tensors(e, fn));
    return v.is_list() ? Value::list(std::move(items)) : Value::tuple(std::move(items));
  }
  if (v.is_dict()) {
    Value out = Value::dict();
    for (const Value::Item& item : v.items()) out.set(item.first, map_tensors(item.second, fn));
    return out;
  }
  return v;
}

}  // namespace fulgur
