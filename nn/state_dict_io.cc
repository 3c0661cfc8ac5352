#include "fulgur/nn/state_dict_io.h"

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/checkpoint.h"

namespace fulgur::nn {

Value to_value(const StateDict& state_dict) {
  std::vector<Value::Item> items;
  items.reserve(state_dict.size());
  for (const auto& [k, t] : state_dict) items.emplace_back(k, t);
  return Value::dict(std::move(items));
}

StateDict state_dict_from_value(const Value& value) {
  FULGUR_CHECK(value.is_dict(), "state_dict_from_value", "expected a dict of str -> Tensor, got a ",
               value.type_name(), "; hint: for a Lightning checkpoint pass ck.at(\"state_dict\")");
  StateDict out;
  for (const auto& [k, v] : value.items()) {
    FULGUR_CHECK(k.is_string(), "state_dict_from_value", "key ", k.repr(), " is not a string");
    FULGUR_CHECK(v.is_tensor(), "state_dict_from_value", "entry '", k.as_string(), "' is a ", v.type_name(),
                 ", not a Tensor");
    out.insert(k.as_string(), v.as_tensor());
  }
  return out;
}

void save_state_dict(const StateDict& state_dict, const std::string& path) { save(to_value(state_dict), path); }

StateDict load_state_dict_file(const std::string& path) { return state_dict_from_value(load(path)); }

}  // namespace fulgur::nn
