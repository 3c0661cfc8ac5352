#include "fulgur/trainer/metrics/metric.h"

#include <algorithm>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/trainer/metrics/warnings.h"

namespace fulgur::metrics {

Reduction reduction_from_string(const std::string& name) {
  if (name == "sum") return Reduction::Sum;
  if (name == "mean") return Reduction::Mean;
  if (name == "max") return Reduction::Max;
  if (name == "min") return Reduction::Min;
  if (name == "cat") return Reduction::Cat;
  FULGUR_FAIL("Metric.add_state", "`dist_reduce_fx` must be one of ['mean', 'sum', 'cat', 'min', 'max'], got '",
              name, "'");
}

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::Sum: return "sum";
    case Reduction::Mean: return "mean";
    case Reduction::Max: return "max";
    case Reduction::Min: return "min";
    case Reduction::Cat: return "cat";
  }
  return "?";
}

std::string Metric::op_name(const char* method) const { return name() + "." + method; }

// ---- states ---------------------------------------------------------------------------------

Tensor& Metric::add_state(const std::string& name, const Tensor& default_value, Reduction reduction,
                          bool persistent) {
  FULGUR_CHECK(default_value.defined(), "Metric.add_state", "state '", name, "' needs a default tensor");
  FULGUR_CHECK(std::none_of(states_.begin(), states_.end(), [&](const StateSpec& s) { return s.name == name; }),
               "Metric.add_state", "state '", name, "' was added already");
  // The default is kept apart from the live state: reset() clones it.
  Tensor def = default_value.detach().contiguous().clone();
  states_.push_back(StateSpec{name, def, reduction, false, {}});
  return register_buffer(name, def.clone(), persistent);
}

std::vector<Tensor>& Metric::add_list_state(const std::string& name, Reduction reduction) {
  FULGUR_CHECK(std::none_of(states_.begin(), states_.end(), [&](const StateSpec& s) { return s.name == name; }),
               "Metric.add_state", "state '", name, "' was added already");
  states_.push_back(StateSpec{name, Tensor(), reduction, true, {}});
  return states_.back().list;
}

Metric::StateSpec& Metric::spec(const std::string& name, const char* op) {
  for (auto& s : states_)
    if (s.name == name) return s;
  FULGUR_FAIL(op, "no metric state named '", name, "'");
}

std::vector<Tensor>& Metric::list_state(const std::string& name) {
  StateSpec& s = spec(name, "Metric.list_state");
  FULGUR_CHECK(s.is_list, "Metric.list_state", "state '", name, "' is a tensor state, not a list");
  return s.list;
}

Tensor Metric::cat_state(const std::string& name, const char* op) {
  const std::vector<Tensor>& parts = list_state(name);
  FULGUR_CHECK(!parts.empty(), op_name(op).c_str(), "No samples to concatenate",
               " (state '", name, "' is empty; hint: call update() before compute())");
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

std::vector<std::pair<std::string, Tensor>> Metric::metric_state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& s : states_) {
    if (!s.is_list) {
      out.emplace_back(s.name, const_cast<Metric*>(this)->buffer(s.name));
    } else if (s.list.empty()) {
      out.emplace_back(s.name, Tensor());
    } else {
      out.emplace_back(s.name, s.list.size() == 1 ? s.list[0] : cat(s.list, 0));
    }
  }
  return out;
}

void Metric::persistent(bool mode) {
  for (const auto& s : states_)
    if (!s.is_list) register_buffer(s.name, buffer(s.name), mode);  // same tensor, new flag
}

std::vector<Metric::SavedState> Metric::copy_state() const {
  std::vector<SavedState> out;
  out.reserve(states_.size());
  for (const auto& s : states_) {
    SavedState saved;
    if (s.is_list) {
      for (const Tensor& t : s.list) saved.list.push_back(t.detach().clone());
    } else {
      saved.tensor = const_cast<Metric*>(this)->buffer(s.name).detach().clone();
    }
    out.push_back(std::move(saved));
  }
  return out;
}

// Assigns new tensors rather than copying into the old ones: a value compute() returned
// earlier must never change behind the caller's back.
void Metric::restore_state(std::vector<SavedState> saved) {
  for (size_t i = 0; i < states_.size(); ++i) {
    if (states_[i].is_list) {
      states_[i].list = std::move(saved[i].list);
    } else {
      buffer(states_[i].name) = std::move(saved[i].tensor);
    }
  }
}

// forward(): merges the accumulated state (`global`) into the batch state now held.
void Metric::reduce_states(const std::vector<SavedState>& global) {
  for (size_t i = 0; i < states_.size(); ++i) {
    StateSpec& s = states_[i];
    if (s.is_list) {
      std::vector<Tensor> merged = global[i].list;
      merged.insert(merged.end(), s.list.begin(), s.list.end());
      s.list = std::move(merged);
      continue;
    }
    Tensor& local = buffer(s.name);
    const Tensor& g = global[i].tensor;
    switch (s.reduction) {
      case Reduction::Sum: local = g + local; break;
      case Reduction::Mean:
        // torchmetrics: ((count - 1) * global + local).float() / count
        local = (g * static_cast<double>(update_count_ - 1) + local).to(DType::Float32) /
                static_cast<double>(update_count_);
        break;
      case Reduction::Max: local = maximum(g, local); break;
      case Reduction::Min: local = minimum(g, local); break;
      case Reduction::Cat: local = cat({g, local}, 0); break;
    }
  }
}

// ---- update / forward -------------------------------------------------------------------------

void Metric::check_num_inputs(const std::vector<Tensor>& inputs, const char* method) const {
  const auto [lo, hi] = num_inputs();
  const char* what = lo == 2 ? "(preds, target)" : hi == 2 ? "(value) or (value, weight)" : "(value)";
  FULGUR_CHECK(inputs.size() >= lo && inputs.size() <= hi, op_name(method).c_str(), "expected ", what,
               ", got ", inputs.size(), " tensor", inputs.size() == 1 ? "" : "s");
  for (size_t i = 0; i < inputs.size(); ++i)
    FULGUR_CHECK(inputs[i].defined(), op_name(method).c_str(), "argument ", i, " is an undefined tensor");
}

void Metric::update(const Tensor& a) { run_update({a}); }
void Metric::update(const Tensor& a, const Tensor& b) { run_update({a, b}); }
Tensor Metric::forward(const Tensor& a) { return run_forward({a}); }
Tensor Metric::forward(const Tensor& a, const Tensor& b) { return run_forward({a, b}); }

void Metric::run_update(const std::vector<Tensor>& inputs) {
  check_num_inputs(inputs, "update");
  computed_ = Tensor();
  GradModeGuard grad(enable_grad_);
  update_state(inputs);
  ++update_count_;  // after: an update that threw (bad input) does not count
}

Tensor Metric::run_forward(const std::vector<Tensor>& inputs) {
  check_num_inputs(inputs, "forward");
  FULGUR_CHECK(!is_synced_, op_name("forward").c_str(),
               "The Metric shouldn't be synced when performing ``forward``. HINT: Did you forget to call "
               "``unsync`` ?");
  forward_cache_ = full_state_update() ? forward_full_state_update(inputs) : forward_reduce_state_update(inputs);
  return forward_cache_;
}

// forward computed its batch value with syncing off and grad on; what every exit restores.
void Metric::end_forward() {
  to_sync_ = true;
  should_unsync_ = true;
  enable_grad_ = false;
  computed_ = Tensor();
}

Tensor Metric::forward_reduce_state_update(const std::vector<Tensor>& inputs) {
  std::vector<SavedState> global = copy_state();
  const int64_t count = update_count_;
  const bool synced = is_synced_;
  reset();
  to_sync_ = false;  // the batch value is local (torchmetrics' dist_sync_on_step=False)
  should_unsync_ = false;
  enable_grad_ = true;
  Tensor batch_value;
  try {
    run_update(inputs);
    batch_value = compute();
  } catch (...) {
    restore_state(std::move(global));
    update_count_ = count;
    is_synced_ = synced;
    end_forward();
    throw;
  }
  update_count_ = count + 1;
  {
    GradModeGuard no_grad(false);
    reduce_states(global);
  }
  is_synced_ = false;
  end_forward();
  return batch_value;
}

Tensor Metric::forward_full_state_update(const std::vector<Tensor>& inputs) {
  run_update(inputs);  // global accumulation; nothing changed if it throws
  const int64_t count = update_count_;
  std::vector<SavedState> global = copy_state();
  to_sync_ = false;
  should_unsync_ = false;
  enable_grad_ = true;
  Tensor batch_value;
  try {
    reset();
    run_update(inputs);
    batch_value = compute();
  } catch (...) {
    restore_state(std::move(global));
    update_count_ = count;
    end_forward();
    throw;
  }
  restore_state(std::move(global));
  update_count_ = count;
  is_synced_ = false;
  end_forward();
  return batch_value;
}

// ---- compute / reset --------------------------------------------------------------------------

Tensor Metric::compute() {
  if (!update_called())
    warn("The ``compute`` method of metric " + name() +
         " was called before the ``update`` method which may lead to errors, as metric states have not yet been "
         "updated.");
  if (computed_.defined()) return computed_;
  const bool sync_here = to_sync_ && sync_on_compute_ && !is_synced_ && reducer_ && reducer_->world_size() > 1;
  if (sync_here) sync(*reducer_);
  Tensor value;
  try {
    value = compute_state();
  } catch (...) {
    if (sync_here && should_unsync_) unsync();
    throw;
  }
  if (sync_here && should_unsync_) unsync();
  if (value.numel() == 1 && value.dim() > 0) value = value.reshape({});  // torchmetrics' _squeeze_if_scalar
  if (compute_with_cache_) computed_ = value;
  return value;
}

void Metric::reset() {
  update_count_ = 0;
  forward_cache_ = Tensor();
  computed_ = Tensor();
  for (auto& s : states_) {
    if (s.is_list) {
      s.list.clear();
    } else {
      Tensor& t = buffer(s.name);
      t = s.default_value.clone().to(t.device());
    }
  }
  sync_cache_.reset();
  is_synced_ = false;
}

// ---- sync -------------------------------------------------------------------------------------

namespace {

Reducer::Op reducer_op(Reduction r) {
  switch (r) {
    case Reduction::Max: return Reducer::Op::Max;
    case Reduction::Min: return Reducer::Op::Min;
    default: return Reducer::Op::Sum;
  }
}

// All ranks' pieces, in rank order, concatenated along dim 0. Empty pieces are dropped first
// so that a rank without data (whose placeholder is float32) cannot change the dtype.
Tensor gather_cat(const Reducer& reducer, const Tensor& local) {
  std::vector<Tensor> parts = reducer.all_gather(local);
  std::vector<Tensor> nonempty;
  for (const Tensor& p : parts)
    if (p.defined() && p.numel() > 0) nonempty.push_back(p);
  if (nonempty.empty()) return Tensor();
  return nonempty.size() == 1 ? nonempty[0] : cat(nonempty, 0);
}

}  // namespace

void Metric::sync(const Reducer& reducer) {
  FULGUR_CHECK(!is_synced_, op_name("sync").c_str(), "The Metric has already been synced.",
               " Hint: call unsync() before syncing again.");
  std::vector<SavedState> local = copy_state();
  GradModeGuard no_grad(false);
  for (auto& s : states_) {
    if (s.is_list) {
      // One collective per state: the list is concatenated first (as torchmetrics does).
      Tensor mine = s.list.empty() ? zeros({0}) : s.list.size() == 1 ? s.list[0] : cat(s.list, 0);
      Tensor all = gather_cat(reducer, mine);
      s.list.clear();
      if (all.defined()) s.list.push_back(all);
      continue;
    }
    Tensor& t = buffer(s.name);
    switch (s.reduction) {
      case Reduction::Sum:
      case Reduction::Max:
      case Reduction::Min: t = reducer.all_reduce(t, reducer_op(s.reduction)); break;
      case Reduction::Mean:
        t = reducer.all_reduce(t.to(DType::Float32), Reducer::Op::Sum) / static_cast<double>(reducer.world_size());
        break;
      case Reduction::Cat: {
        Tensor all = gather_cat(reducer, t);
        t = all.defined() ? all : t;
        break;
      }
    }
  }
  sync_cache_ = std::move(local);
  is_synced_ = true;
  computed_ = Tensor();
}

void Metric::unsync() {
  FULGUR_CHECK(is_synced_, op_name("unsync").c_str(), "The Metric has already been un-synced.");
  FULGUR_CHECK(sync_cache_.has_value(), op_name("unsync").c_str(),
               "The internal cache should exist to unsync the Metric.");
  restore_state(std::move(*sync_cache_));
  sync_cache_.reset();
  is_synced_ = false;
  computed_ = Tensor();
}

}  // namespace fulgur::metrics
