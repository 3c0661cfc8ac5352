#include "fulgur/nn/module.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <unordered_set>

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/autograd_meta.h"

namespace fulgur::nn {

// ---- StateDict ----------------------------------------------------------------------------

StateDict::StateDict(std::initializer_list<Item> items) {
  for (const auto& [k, v] : items) insert(k, v);
}

StateDict::StateDict(std::vector<Item> items) {
  for (auto& [k, v] : items) insert(k, std::move(v));
}

void StateDict::insert(const std::string& key, Tensor value) {
  for (auto& item : items_) {
    if (item.first == key) {
      item.second = std::move(value);
      return;
    }
  }
  items_.emplace_back(key, std::move(value));
}

bool StateDict::contains(const std::string& key) const { return find(key) != nullptr; }

const Tensor* StateDict::find(const std::string& key) const {
  for (const auto& item : items_)
    if (item.first == key) return &item.second;
  return nullptr;
}

const Tensor& StateDict::at(const std::string& key) const {
  const Tensor* t = find(key);
  FULGUR_CHECK(t != nullptr, "StateDict::at", "no key \"", key, "\" (", items_.size(), " keys)");
  return *t;
}

Tensor& StateDict::at(const std::string& key) {
  return const_cast<Tensor&>(static_cast<const StateDict&>(*this).at(key));
}

Tensor& StateDict::operator[](const std::string& key) {
  for (auto& item : items_)
    if (item.first == key) return item.second;
  items_.emplace_back(key, Tensor());
  return items_.back().second;
}

bool StateDict::erase(const std::string& key) {
  auto it = std::find_if(items_.begin(), items_.end(), [&](const Item& i) { return i.first == key; });
  if (it == items_.end()) return false;
  items_.erase(it);
  return true;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& item : items_) out.push_back(item.first);
  return out;
}

std::vector<Tensor> StateDict::values() const {
  std::vector<Tensor> out;
  out.reserve(items_.size());
  for (const auto& item : items_) out.push_back(item.second);
  return out;
}

// ---- registration -------------------------------------------------------------------------

namespace {
enum Kind { kParam = 0, kBuffer = 1, kChild = 2 };
const char* kind_name(int kind) {
  return kind == kParam ? "parameter" : kind == kBuffer ? "buffer" : "module";
}
}  // namespace

void Module::check_new_name(const std::string& name, const char* what, int kind) const {
  FULGUR_CHECK(!name.empty(), what, "the name must not be empty");
  FULGUR_CHECK(name.find('.') == std::string::npos, what, "the name \"", name,
               "\" must not contain \".\"");
  const auto taken = [&](int k) {
    FULGUR_FAIL(what, "attribute \"", name, "\" already exists as a ", kind_name(k), " of ",
                this->name(), "; use another name");
  };
  if (kind != kParam)
    for (const auto& p : params_)
      if (p->name == name) taken(kParam);
  if (kind != kBuffer)
    for (const auto& b : buffers_)
      if (b->name == name) taken(kBuffer);
  if (kind != kChild)
    for (const auto& c : children_)
      if (c.name == name) taken(kChild);
}

Tensor& Module::register_parameter(std::string name, Tensor t, bool requires_grad) {
  check_new_name(name, "register_parameter", kParam);
  if (t.defined()) {
    if (!t.is_leaf()) t = t.detach();
    FULGUR_CHECK(!requires_grad || t.is_floating_point(), "register_parameter", "parameter \"",
                 name, "\" has dtype ", t.dtype(),
                 "; only floating-point tensors can require grad (pass requires_grad = false)");
    t.requires_grad_(requires_grad);
  }
  for (auto& p : params_) {
    if (p->name == name) {
      p->tensor = std::move(t);
      return p->tensor;
    }
  }
  params_.push_back(std::make_unique<ParamEntry>(ParamEntry{std::move(name), std::move(t)}));
  return params_.back()->tensor;
}

Tensor& Module::register_buffer(std::string name, Tensor t, bool persistent) {
  check_new_name(name, "register_buffer", kBuffer);
  for (auto& b : buffers_) {
    if (b->name == name) {
      b->tensor = std::move(t);
      b->persistent = persistent;
      return b->tensor;
    }
  }
  buffers_.push_back(
      std::make_unique<BufferEntry>(BufferEntry{std::move(name), std::move(t), persistent}));
  return buffers_.back()->tensor;
}

void Module::register_module_impl(std::string name, std::shared_ptr<Module> m) {
  check_new_name(name, "register_module", kChild);
  FULGUR_CHECK(m.get() != this, "register_module", "a module cannot be its own child (\"", name,
               "\")");
  for (auto& c : children_) {
    if (c.name == name) {
      c.module = std::move(m);
      return;
    }
  }
  children_.push_back(ChildEntry{std::move(name), std::move(m)});
}

// ---- lookups ------------------------------------------------------------------------------

Tensor& Module::parameter(const std::string& name) {
  for (auto& p : params_)
    if (p->name == name) return p->tensor;
  FULGUR_FAIL("Module::parameter", this->name(), " has no parameter \"", name, "\"");
}

Tensor& Module::buffer(const std::string& name) {
  for (auto& b : buffers_)
    if (b->name == name) return b->tensor;
  FULGUR_FAIL("Module::buffer", this->name(), " has no buffer \"", name, "\"");
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (const auto& c : children_)
    if (c.name == name) return c.module;
  FULGUR_FAIL("Module::child", this->name(), " has no child module \"", name, "\"");
}

bool Module::has_parameter(const std::string& name) const {
  return std::any_of(params_.begin(), params_.end(), [&](const auto& p) { return p->name == name; });
}
bool Module::has_buffer(const std::string& name) const {
  return std::any_of(buffers_.begin(), buffers_.end(), [&](const auto& b) { return b->name == name; });
}
bool Module::has_child(const std::string& name) const {
  return std::any_of(children_.begin(), children_.end(), [&](const auto& c) { return c.name == name; });
}

// ---- traversal ----------------------------------------------------------------------------

void Module::collect_named_modules(const std::string& prefix, std::vector<const Module*>& seen,
                                   std::vector<std::pair<std::string, const Module*>>& out) const {
  if (std::find(seen.begin(), seen.end(), this) != seen.end()) return;
  seen.push_back(this);
  out.emplace_back(prefix, this);
  for (const auto& c : children_) {
    if (!c.module) continue;
    c.module->collect_named_modules(prefix.empty() ? c.name : prefix + "." + c.name, seen, out);
  }
}

namespace {
std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
}  // namespace

// The named tensors of one kind (parameters or buffers) of this module, or of every module
// below it: dotted names, each tensor once (PyTorch's remove_duplicate).
template <typename Entry>
std::vector<std::pair<std::string, Tensor>> Module::named_tensors(
    bool recurse, std::vector<std::unique_ptr<Entry>> Module::*entries) const {
  std::vector<std::pair<std::string, const Module*>> mods;
  if (recurse) {
    std::vector<const Module*> seen;
    collect_named_modules("", seen, mods);
  } else {
    mods.emplace_back("", this);
  }
  std::unordered_set<const TensorImpl*> seen_tensors;
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [prefix, m] : mods) {
    for (const auto& e : m->*entries) {
      if (!e->tensor.defined() || !seen_tensors.insert(&e->tensor.impl()).second) continue;
      out.emplace_back(join_name(prefix, e->name), e->tensor);
    }
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  return named_tensors(recurse, &Module::params_);
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  return named_tensors(recurse, &Module::buffers_);
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::vector<const Module*> seen;
  for (const auto& c : children_) {
    if (!c.module || std::find(seen.begin(), seen.end(), c.module.get()) != seen.end()) continue;
    seen.push_back(c.module.get());
    out.emplace_back(c.name, c.module);
  }
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [n, m] : named_children()) out.push_back(m);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(
    const std::string& prefix) {
  std::vector<std::pair<std::string, const Module*>> mods;
  std::vector<const Module*> seen;
  collect_named_modules(prefix, seen, mods);
  // Every module but self is owned by its parent's shared_ptr; find those pointers.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::shared_ptr<Module> self = weak_from_this().lock();
  if (!self) self = std::shared_ptr<Module>(this, [](Module*) {});  // not owned by a shared_ptr
  std::vector<std::pair<const Module*, std::shared_ptr<Module>>> owners{{this, self}};
  std::function<void(const Module&)> gather = [&](const Module& m) {
    for (const auto& c : m.children_) {
      if (!c.module) continue;
      if (std::none_of(owners.begin(), owners.end(),
                       [&](const auto& o) { return o.first == c.module.get(); })) {
        owners.emplace_back(c.module.get(), c.module);
        gather(*c.module);
      }
    }
  };
  gather(*this);
  for (const auto& [name, m] : mods) {
    for (const auto& o : owners) {
      if (o.first == m) {
        out.emplace_back(name, o.second);
        break;
      }
    }
  }
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [n, m] : named_modules()) out.push_back(m);
  return out;
}

// ---- state_dict ---------------------------------------------------------------------------

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto& p : params_)
    if (p->tensor.defined()) out.insert(prefix + p->name, p->tensor.detach());
  for (const auto& b : buffers_)
    if (b->tensor.defined() && b->persistent) out.insert(prefix + b->name, b->tensor.detach());
  for (const auto& c : children_)
    if (c.module) c.module->collect_state(prefix + c.name + ".", out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", out);
  return out;
}

void Module::collect_targets(const std::string& prefix,
                             std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& p : params_)
    if (p->tensor.defined()) out.emplace_back(prefix + p->name, p->tensor);
  for (const auto& b : buffers_)
    if (b->tensor.defined() && b->persistent) out.emplace_back(prefix + b->name, b->tensor);
  for (const auto& c : children_)
    if (c.module) c.module->collect_targets(prefix + c.name + ".", out);
}

IncompatibleKeys Module::load_state_dict(const StateDict& state_dict, bool strict) {
  std::vector<std::pair<std::string, Tensor>> targets;
  collect_targets("", targets);
  IncompatibleKeys result;
  std::vector<std::string> errors;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, source)
  for (const auto& [key, dst] : targets) {
    const Tensor* src = state_dict.find(key);
    if (src == nullptr || !src->defined()) {
      result.missing_keys.push_back(key);
      continue;
    }
    if (!(src->sizes() == dst.sizes())) {
      errors.push_back("size mismatch for " + key + ": copying a param with shape " +
                       shape_str(src->sizes()) + " from checkpoint, the shape in current model is " +
                       shape_str(dst.sizes()) + ".");
      continue;
    }
    copies.emplace_back(dst, *src);
  }
  for (const auto& entry : state_dict) {
    // (not a structured binding: clang 14, used for fuzz builds, cannot capture one)
    const std::string& key = entry.first;
    if (std::none_of(targets.begin(), targets.end(), [&](const auto& t) { return t.first == key; }))
      result.unexpected_keys.push_back(key);
  }
  const auto quoted = [](const std::vector<std::string>& keys) {
    std::string s;
    for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", \"" : "\"") + keys[i] + "\"";
    return s;
  };
  if (strict) {
    if (!result.unexpected_keys.empty())
      errors.insert(errors.begin(),
                    "Unexpected key(s) in state_dict: " + quoted(result.unexpected_keys) + ". ");
    if (!result.missing_keys.empty())
      errors.insert(errors.begin(),
                    "Missing key(s) in state_dict: " + quoted(result.missing_keys) + ". ");
  }
  if (!errors.empty()) {
    std::string msg = "Error(s) in loading state_dict for " + name() + ":";
    for (const auto& e : errors) msg += "\n\t" + e;
    throw Error(msg);
  }
  NoGradGuard no_grad;
  for (auto& [dst, src] : copies) {
    Tensor d = dst;
    d.copy_(src);
  }
  return result;
}

// ---- mode, device, dtype ------------------------------------------------------------------

Module& Module::train(bool on) {
  training_ = on;
  for (auto& c : children_)
    if (c.module) c.module->train(on);
  return *this;
}

template <class F>
void Module::for_each_tensor(F&& fn) {
  std::vector<std::pair<std::string, const Module*>> mods;
  std::vector<const Module*> seen;
  collect_named_modules("", seen, mods);
  std::unordered_set<const TensorImpl*> done;
  for (const auto& [prefix, cm] : mods) {
    Module* m = const_cast<Module*>(cm);
    for (auto& p : m->params_)
      if (p->tensor.defined() && done.insert(&p->tensor.impl()).second) fn(p->tensor, true);
    for (auto& b : m->buffers_)
      if (b->tensor.defined() && done.insert(&b->tensor.impl()).second) fn(b->tensor, false);
  }
}

namespace {
// Replaces t's data by converted's in place: every handle sharing t's TensorImpl (module
// members, optimizers) sees the new data; t's autograd state (requires_grad, grad) is kept.
void swap_data(const Tensor& t, const Tensor& converted) {
  if (converted.is_same(t)) return;
  TensorImpl& dst = t.impl();
  const TensorImpl& src = converted.impl();
  dst.storage = src.storage;
  dst.sizes = src.sizes;
  dst.strides = src.strides;
  dst.storage_offset = src.storage_offset;
  dst.dtype = src.dtype;
}

template <class Convert>
void convert_in_place(const Tensor& t, Convert&& convert) {
  NoGradGuard no_grad;
  swap_data(t, convert(t.detach()));
  if (AutogradMeta* meta = autograd_meta_if(t); meta && meta->grad.defined())
    swap_data(meta->grad, convert(meta->grad.detach()));
}
}  // namespace

Module& Module::to(Device device) {
  for_each_tensor([&](Tensor& t, bool) {
    convert_in_place(t, [&](const Tensor& x) { return x.to(device); });
  });
  return *this;
}

Module& Module::to(DType dtype) {
  FULGUR_CHECK(is_floating(dtype), "Module::to", "nn.Module.to only accepts floating point dtypes, but got desired dtype=",
               dtype);
  for_each_tensor([&](Tensor& t, bool) {
    if (!t.is_floating_point()) return;
    convert_in_place(t, [&](const Tensor& x) { return x.to(dtype); });
  });
  return *this;
}

Module& Module::to(Device device, DType dtype) {
  to(device);
  return to(dtype);
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    AutogradMeta* meta = autograd_meta_if(p);
    if (!meta || !meta->grad.defined()) continue;
    if (set_to_none) {
      p.mutable_grad() = Tensor();
    } else {
      NoGradGuard no_grad;
      Tensor g = meta->grad;
      if (g.grad_fn()) g = g.detach();
      g.zero_();
      meta->grad = g;
    }
  }
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& c : children_)
    if (c.module) c.module->apply(fn);
  fn(*this);
  return *this;
}

// ---- printing -----------------------------------------------------------------------------

std::string Module::name() const { return "Module"; }
std::string Module::extra_repr() const { return ""; }

namespace {
std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::string line;
  std::istringstream is(s);
  while (std::getline(is, line)) out.push_back(line);
  if (!s.empty() && s.back() == '\n') out.push_back("");
  return out;
}

// PyTorch's _addindent: every line but the first indented by n spaces.
std::string add_indent(const std::string& s, int n) {
  const auto lines = split_lines(s);
  if (lines.size() <= 1) return s;
  std::string out = lines[0];
  for (size_t i = 1; i < lines.size(); ++i) out += "\n" + std::string(n, ' ') + lines[i];
  return out;
}
}  // namespace

std::string Module::repr() const {
  const std::string extra = extra_repr();
  std::vector<std::string> extra_lines;
  if (!extra.empty()) extra_lines = split_lines(extra);
  std::vector<std::string> child_lines;
  for (const auto& c : children_)
    child_lines.push_back("(" + c.name + "): " + (c.module ? add_indent(c.module->repr(), 2) : "None"));
  std::string out = name() + "(";
  if (!extra_lines.empty() || !child_lines.empty()) {
    if (extra_lines.size() == 1 && child_lines.empty()) {
      out += extra_lines[0];
    } else {
      out += "\n";
      for (const auto& l : extra_lines) out += "  " + l + "\n";
      for (const auto& l : child_lines) out += "  " + l + "\n";
    }
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.repr(); }

std::string repr_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Shortest round-trip digits and the decimal exponent, then Python's float_repr_style:
  // scientific when exp < -4 or exp >= 16, else fixed with at least one decimal.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  const int exp = std::stoi(sci.substr(e + 1));
  std::string sign;
  if (mant[0] == '-') {
    sign = "-";
    mant = mant.substr(1);
  }
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + eb;
  }
  std::string out;
  if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else {
    const size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out = digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return sign + out;
}

std::string repr_bool(bool v) { return v ? "True" : "False"; }

std::string repr_tuple(IntArrayRef v) {
  std::string out = "(";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  if (v.size() == 1) out += ",";
  return out + ")";
}

// ---- forward ------------------------------------------------------------------------------

Tensor Module::forward(const Tensor&) {
  FULGUR_FAIL("Module::forward", name(),
              " has no forward(const Tensor&); override forward in the module (or call the "
              "forward overload it defines)");
}

}  // namespace fulgur::nn
