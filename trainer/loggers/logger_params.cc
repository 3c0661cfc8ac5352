#include "fulgur/trainer/loggers/logger_params.h"

#include <algorithm>
#include <cmath>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/serialize/yaml.h"

namespace fulgur::lightning::loggers::detail {

namespace {
std::string key_text(const DictKey& k) { return k.is_int() ? std::to_string(k.as_int()) : k.as_string(); }

void flatten_into(const Value& params, const std::string& parent, const std::string& delimiter, Value& out) {
  for (const Value::Item& item : params.items()) {
    const std::string key = parent.empty() ? key_text(item.first) : parent + delimiter + key_text(item.first);
    const Value& v = item.second;
    if (v.is_dict()) {
      flatten_into(v, key, delimiter, out);
    } else if (v.is_list() && std::all_of(v.elements().begin(), v.elements().end(),
                                          [](const Value& e) { return e.is_dict(); })) {
      // Python's all() of an empty list is True: an empty list adds nothing, as in Lightning.
      for (size_t i = 0; i < v.elements().size(); ++i) {
        flatten_into(v.elements()[i], key + "/" + std::to_string(i), delimiter, out);
      }
    } else {
      out.set(key, v);
    }
  }
}

Value sorted_keys(const Value& v) {
  if (v.is_dict()) {
    std::vector<Value::Item> items = v.items();
    std::stable_sort(items.begin(), items.end(), [](const Value::Item& a, const Value::Item& b) {
      if (a.first.is_int() != b.first.is_int()) return a.first.is_int();
      return a.first.is_int() ? a.first.as_int() < b.first.as_int() : a.first.as_string() < b.first.as_string();
    });
    Value out = Value::dict();
    for (const Value::Item& item : items) out.set(item.first, sorted_keys(item.second));
    return out;
  }
  if (v.is_list() || v.is_tuple()) {
    std::vector<Value> items;
    for (const Value& e : v.elements()) items.push_back(sorted_keys(e));
    return Value::list(std::move(items));  // PyYAML's safe representer writes tuples as lists
  }
  if (v.is_tensor()) return Value(v.as_tensor().numel() == 1 ? Value(v.as_tensor().item<double>()) : Value(v.repr()));
  return v;
}
}  // namespace

Value flatten_params(const Value& params, const std::string& delimiter) {
  Value out = Value::dict();
  if (params.is_none()) return out;
  FULGUR_CHECK(params.is_dict(), "log_hyperparams", "hyperparameters must be a dict, got ", params.repr());
  flatten_into(params, "", delimiter, out);
  return out;
}

std::string python_str(const Value& v) { return v.is_string() ? v.as_string() : v.repr(); }

Value sanitize_params(const Value& flat) {
  Value out = Value::dict();
  for (const Value::Item& item : flat.items()) {
    const Value& v = item.second;
    if (v.is_bool() || v.is_number() || v.is_string()) {
      out.set(item.first, v);
    } else if (v.is_tensor() && v.as_tensor().numel() == 1) {
      out.set(item.first, v.as_tensor().item<double>());
    } else {
      out.set(item.first, python_str(v));
    }
  }
  return out;
}

std::map<std::string, double> add_prefix(const std::map<std::string, double>& metrics, const std::string& prefix,
                                         const std::string& separator) {
  if (prefix.empty()) return metrics;
  std::map<std::string, double> out;
  for (const auto& [k, v] : metrics) out[prefix + separator + k] = v;
  return out;
}

void update_dict(Value& into, const Value& params) {
  if (!params.is_dict()) return;
  for (const Value::Item& item : params.items()) into.set(item.first, item.second);
}

void save_hparams_to_yaml(const std::string& path, const Value& hparams) {
  serialize::write_file_atomic(path, to_yaml(sorted_keys(hparams)), "save_hparams_to_yaml");
}

std::string csv_number(double v, bool as_int) {
  if (as_int && std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  return float_repr(v);
}

}  // namespace fulgur::lightning::loggers::detail
