// Optimizer: param groups, zero_grad, step, and PyTorch-compatible state_dict/load_state_dict.
#include "fulgur/optim/optimizer.h"

#include <unordered_map>
#include <unordered_set>

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::optim {
namespace {

// PyTorch's load_state_dict cast: a deep copy with tensors moved to the parameter's device
// and, for floating-point parameters, cast to its dtype; "step" keeps its dtype (PyTorch
// issue 74424: a float32 step of a float16 parameter would lose counts).
Value cast_like(const Tensor& param, const Value& v, const std::string* key) {
  if (v.is_tensor()) {
    const Tensor& t = v.as_tensor();
    if (!t.defined()) return v;
    if (key && *key == "step") return Value(t.clone());
    return Value(param.is_floating_point() ? t.to(param.device(), param.dtype(), /*copy=*/true)
                                           : t.to(param.device(), /*copy=*/true));
  }
  if (v.is_dict()) {
    Value out = Value::dict();
    for (const auto& [k, x] : v.items()) out.set(k, cast_like(param, x, k.is_string() ? &k.as_string() : nullptr));
    return out;
  }
  if (v.is_sequence()) {
    std::vector<Value> items;
    for (const Value& x : v.elements()) items.push_back(cast_like(param, x, nullptr));
    return v.is_list() ? Value::list(std::move(items)) : Value::tuple(std::move(items));
  }
  return v;
}

std::string key_list(const Value& dict) {
  std::string out;
  for (const auto& [k, v] : dict.items()) out += (out.empty() ? "" : ", ") + k.repr();
  return "[" + out + "]";
}

}  // namespace

double ParamGroup::lr() const {
  const Value* v = options.is_dict() ? options.find("lr") : nullptr;
  FULGUR_CHECK(v && v->is_number(), "ParamGroup::lr", "the group's options have no numeric 'lr' (",
               options.repr(), ")");
  return v->to_double();
}

Optimizer::Optimizer(std::string name, Value defaults) : name_(std::move(name)), defaults_(std::move(defaults)) {}

void Optimizer::init_param_groups(std::vector<ParamGroup> groups) {
  check_group_options(defaults_, "the defaults");
  size_t n = 0;
  for (const auto& g : groups) n += g.params.size();
  FULGUR_CHECK(n > 0, name_.c_str(), "optimizer got an empty parameter list; hint: pass model.parameters()");
  for (auto& g : groups) add_param_group(std::move(g));
}

Value Optimizer::complete_options(const Value& options) const {
  FULGUR_CHECK(options.is_dict(), name_.c_str(), "a param group's options must be a dict, got ", options.type_name());
  Value out = options;
  out.erase("params");  // the group's params field holds them
  for (const auto& [key, value] : defaults_.items())
    if (!out.contains(key)) out.set(key, value);
  return out;
}

void Optimizer::add_param_group(ParamGroup group) {
  const char* op = name_.c_str();
  std::unordered_set<const TensorImpl*> taken;
  for (const auto& g : groups_)
    for (const auto& p : g.params) taken.insert(p.impl_ptr().get());
  for (const auto& p : group.params) {
    FULGUR_CHECK(p.defined(), op, "a parameter is an undefined tensor");
    FULGUR_CHECK(p.is_leaf(), op, "can't optimize a non-leaf Tensor; hint: optimize the leaf it was computed "
                 "from, or detach() it and call requires_grad_()");
    FULGUR_CHECK(!taken.count(p.impl_ptr().get()), op, "some parameters appear in more than one parameter group");
  }
  Value options = complete_options(group.options);
  check_group_options(options, "param group " + std::to_string(groups_.size()));
  group.options = std::move(options);
  groups_.push_back(std::move(group));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& group : groups_) {
    for (auto& p : group.params) {
      Tensor& g = p.mutable_grad();
      if (!g.defined()) continue;
      if (set_to_none) {
        g = Tensor();
        continue;
      }
      // A gradient made with create_graph has history: cut it so that zeroing is not recorded.
      if (g.grad_fn()) {
        g = g.detach();
      } else if (g.requires_grad()) {
        g.requires_grad_(false);
      }
      g.zero_();
    }
  }
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (auto& group : groups_) step_group(group);
}

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  if (closure) {
    SetGradEnabled grad_on(true);
    loss = closure();
  }
  step();
  return loss;
}

Value Optimizer::state_dict() const {
  // Parameters are numbered by position over all groups, a repeated one keeping its first
  // number (PyTorch's pack_group).
  std::unordered_map<const TensorImpl*, int64_t> index;
  int64_t start = 0;
  Value groups = Value::list();
  for (const auto& g : groups_) {
    Value packed = g.options;
    Value ids = Value::list();
    for (size_t i = 0; i < g.params.size(); ++i) {
      const auto [it, inserted] = index.try_emplace(g.params[i].impl_ptr().get(), start + static_cast<int64_t>(i));
      ids.push_back(it->second);
    }
    start += static_cast<int64_t>(g.params.size());
    packed.set("params", std::move(ids));
    groups.push_back(std::move(packed));
  }
  Value state = Value::dict();
  for (auto& [impl, s] : save_state()) {
    const auto it = index.find(impl);
    if (it != index.end()) state.set(it->second, std::move(s));  // state of a removed param is dropped
  }
  return Value::dict({{"state", std::move(state)}, {"param_groups", std::move(groups)}});
}

void Optimizer::load_state_dict(const Value& sd) {
  const std::string op_name = name_ + "::load_state_dict";
  const char* op = op_name.c_str();
  FULGUR_CHECK(sd.is_dict() && sd.contains("state") && sd.contains("param_groups"), op,
               "expected a dict with 'state' and 'param_groups', got ",
               sd.is_dict() ? "a dict with keys " + key_list(sd) : std::string("a ") + sd.type_name());
  const Value& saved_groups = sd.at("param_groups");
  FULGUR_CHECK(saved_groups.is_sequence(), op, "'param_groups' must be a list, got ", saved_groups.type_name());
  const auto& saved = saved_groups.elements();
  FULGUR_CHECK(saved.size() == groups_.size(), op,
               "loaded state dict has a different number of parameter groups: ", saved.size(),
               " in the state dict, ", groups_.size(), " in this optimizer; hint: build the optimizer with the "
               "same param groups as the one that was saved");

  // Saved parameter number -> parameter, by position (PyTorch's id_map).
  std::unordered_map<int64_t, Tensor> id_map;
  std::vector<Value> new_options;
  for (size_t i = 0; i < saved.size(); ++i) {
    const Value& g = saved[i];
    FULGUR_CHECK(g.is_dict() && g.contains("params") && g.at("params").is_sequence(), op, "param group ", i,
                 " must be a dict with a 'params' list, got ", g.repr());
    const auto& ids = g.at("params").elements();
    FULGUR_CHECK(ids.size() == groups_[i].params.size(), op,
                 "loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                 "group: group ", i, " has ", ids.size(), " parameters in the state dict and ",
                 groups_[i].params.size(), " here");
    for (size_t j = 0; j < ids.size(); ++j) {
      FULGUR_CHECK(ids[j].is_int(), op, "param group ", i, " lists a parameter id that is not an int: ",
                   ids[j].repr());
      id_map.emplace(ids[j].as_int(), groups_[i].params[j]);
    }
    for (const auto& key : required_group_keys()) {
      FULGUR_CHECK(g.contains(key), op, "param group ", i, " has no '", key, "' (it has ", key_list(g),
                   "); hint: was the state dict saved from another kind of optimizer?");
    }
    Value options = complete_options(g);
    check_group_options(options, "param group " + std::to_string(i) + " of the state dict");
    new_options.push_back(std::move(options));
  }

  const Value& saved_state = sd.at("state");
  FULGUR_CHECK(saved_state.is_dict(), op, "'state' must be a dict, got ", saved_state.type_name());
  std::vector<SavedParamState> states;
  for (const auto& [key, value] : saved_state.items()) {
    FULGUR_CHECK(key.is_int(), op, "state keys must be parameter ids (ints), got ", key.repr());
    const auto it = id_map.find(key.as_int());
    FULGUR_CHECK(it != id_map.end(), op, "the state dict has state for parameter ", key.as_int(),
                 ", which none of its param groups lists");
    FULGUR_CHECK(value.is_dict(), op, "the state of parameter ", key.as_int(), " must be a dict, got ",
                 value.type_name());
    states.push_back({key.as_int(), it->second, cast_like(it->second, value, nullptr)});
  }
  load_state(states);  // throws without changing anything if a state is malformed
  for (size_t i = 0; i < groups_.size(); ++i) groups_[i].options = std::move(new_options[i]);
}

double Optimizer::get_lr(size_t group) const {
  FULGUR_CHECK(group < groups_.size(), name_.c_str(), "param group ", group, " does not exist (",
               groups_.size(), " groups)");
  return groups_[group].lr();
}

void Optimizer::set_lr(size_t group, double lr) {
  FULGUR_CHECK(group < groups_.size(), name_.c_str(), "param group ", group, " does not exist (",
               groups_.size(), " groups)");
  groups_[group].set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  for (auto& g : groups_) g.set_lr(lr);
}

// ---- typed reads of group options -----------------------------------------------------------
namespace detail {

double read_double(const Value& options, const char* key, double fallback, const char* op) {
  const Value* v = options.find(key);
  if (!v) return fallback;
  FULGUR_CHECK(v->is_number(), op, "option '", key, "' must be a number, got ", v->type_name(), " ", v->repr());
  return v->to_double();
}

bool read_bool(const Value& options, const char* key, bool fallback, const char* op) {
  const Value* v = options.find(key);
  if (!v) return fallback;
  FULGUR_CHECK(v->is_bool(), op, "option '", key, "' must be a bool, got ", v->type_name(), " ", v->repr());
  return v->as_bool();
}

std::pair<double, double> read_pair(const Value& options, const char* key, std::pair<double, double> fallback,
                                    const char* op) {
  const Value* v = options.find(key);
  if (!v) return fallback;
  const bool ok = v->is_sequence() && v->size() == 2 && (*v)[0].is_number() && (*v)[1].is_number();
  FULGUR_CHECK(ok, op, "option '", key, "' must be a tuple of two numbers, got ", v->type_name(), " ", v->repr());
  return {(*v)[0].to_double(), (*v)[1].to_double()};
}

std::optional<bool> read_optional_bool(const Value& options, const char* key, std::optional<bool> fallback,
                                       const char* op) {
  const Value* v = options.find(key);
  if (!v) return fallback;
  if (v->is_none()) return std::nullopt;
  FULGUR_CHECK(v->is_bool(), op, "option '", key, "' must be None or a bool, got ", v->type_name(), " ",
               v->repr());
  return v->as_bool();
}

Tensor state_tensor(const SavedParamState& saved, const char* key, bool required, const char* op) {
  const Value* v = saved.state.find(key);
  FULGUR_CHECK(v || !required, op, "the state of parameter ", saved.id, " has no '", key, "' (it has ",
               key_list(saved.state), "); hint: was the state dict saved from another kind of optimizer?");
  if (!v || v->is_none()) return Tensor();
  FULGUR_CHECK(v->is_tensor(), op, "state '", key, "' of parameter ", saved.id, " must be a Tensor, got ",
               v->type_name());
  const Tensor& t = v->as_tensor();
  FULGUR_CHECK(t.defined() && t.sizes() == saved.param.sizes(), op, "state '", key, "' of parameter ", saved.id,
               " has shape ", t.defined() ? shape_str(t.sizes()) : "undefined", " but the parameter has shape ",
               shape_str(saved.param.sizes()), "; hint: the param groups must list the parameters in the order "
               "they were saved");
  return t;
}

int64_t state_step(const SavedParamState& saved, const char* op) {
  const Value* v = saved.state.find("step");
  FULGUR_CHECK(v, op, "the state of parameter ", saved.id, " has no 'step' (it has ", key_list(saved.state),
               "); hint: was the state dict saved from another kind of optimizer?");
  if (v->is_int()) return v->as_int();
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  FULGUR_CHECK(v->is_tensor() && v->as_tensor().defined() && v->as_tensor().numel() == 1, op, "'step' of parameter ",
               saved.id, " must be a number or a one-element tensor, got ", v->repr());
  return static_cast<int64_t>(v->as_tensor().item<double>());
}

Value step_tensor(int64_t step) {
  return Value(scalar_tensor(static_cast<double>(step), {.dtype = kFloat32}));
}

}  // namespace detail
}  // namespace fulgur::optim
