#include "fulgur/trainer/hparams.h"

#include "fulgur/kernels/error.h"

namespace fulgur::lightning {

HParams::HParams(std::initializer_list<Item> items) {
  for (const Item& item : items) dict_.set(item.first, item.second);
}

HParams HParams::from_value(const Value& dict) {
  FULGUR_CHECK(dict.is_dict(), "HParams", "expected a dict of hyperparameters, got a ", dict.type_name(),
               "; hint: a checkpoint's \"hyper_parameters\" is a dict with string keys");
  HParams out;
  for (const Value::Item& item : dict.items()) {
    FULGUR_CHECK(item.first.is_string(), "HParams", "hyperparameter names must be strings, got the key ",
                 item.first.repr());
    out.dict_.set(item.first, item.second);
  }
  return out;
}

HParams HParams::with_defaults(const HParams& defaults) const {
  HParams out = defaults;
  for (const Value::Item& item : dict_.items()) out.dict_.set(item.first, item.second);
  return out;
}

HParams HParams::merged(const HParams& overrides) const { return overrides.with_defaults(*this); }

HParams& HParams::set(const std::string& name, Value value) {
  dict_.set(name, std::move(value));
  return *this;
}

const Value& HParams::at(const std::string& name) const {
  const Value* v = dict_.find(name);
  if (v == nullptr) {
    std::string keys;
    for (const std::string& k : this->keys()) keys += (keys.empty() ? "" : ", ") + k;
    FULGUR_FAIL("HParams", "no hyperparameter '", name, "' (have: ", keys.empty() ? "none" : keys,
                "); hint: give it a default with hp.with_defaults({{\"", name, "\", ...}})");
  }
  return *v;
}

std::vector<std::string> HParams::keys() const {
  std::vector<std::string> out;
  for (const Value::Item& item : dict_.items()) out.push_back(item.first.as_string());
  return out;
}

void HParams::wrong_kind(const Value& v, const std::string& name, const char* wanted) {
  FULGUR_FAIL("HParams.get", "hyperparameter '", name, "' is a ", v.type_name(), " (", v.repr(), "), not a ", wanted,
              "; hint: ask for the type it holds, or pass it with that type");
}

}  // namespace fulgur::lightning
