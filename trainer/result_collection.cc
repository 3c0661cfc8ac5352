#include "fulgur/trainer/result_collection.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fulgur/kernels/error.h"

namespace fulgur::lightning::detail {

std::optional<FxLogRules> fx_log_rules(const std::string& fx) {
  static const std::map<std::string, FxLogRules> rules = [] {
    std::map<std::string, FxLogRules> m;
    const FxLogRules step_hook{true, true, true, true, false};
    const FxLogRules epoch_hook{false, true, true, false, true};
    const FxLogRules eval_step{true, true, true, false, true};
    for (const char* fx : {"on_before_backward", "backward", "on_after_backward", "on_before_optimizer_step",
                           "optimizer_step", "configure_gradient_clipping", "clip_gradients", "on_before_zero_grad",
                           "optimizer_zero_grad", "on_train_batch_start", "on_train_batch_end", "training_step",
                           "lr_scheduler_step"}) {
      m[fx] = step_hook;
    }
    for (const char* fx : {"on_train_start", "on_train_epoch_start", "on_train_epoch_end", "on_validation_start",
                           "on_validation_epoch_start", "on_validation_epoch_end", "on_test_start",
                           "on_test_epoch_start", "on_test_epoch_end"}) {
      m[fx] = epoch_hook;
    }
    for (const char* fx : {"on_validation_batch_start", "on_validation_batch_end", "validation_step",
                           "on_test_batch_start", "on_test_batch_end", "test_step"}) {
      m[fx] = eval_step;
    }
    return m;
  }();
  const auto it = rules.find(fx);
  if (it == rules.end()) return std::nullopt;
  return it->second;
}

void ResultCollection::log(const std::string& fx, const std::string& name, const LogValue& value,
                           const LogOptions& options, bool on_step, bool on_epoch, int64_t batch_size) {
  const std::string key = fx + "." + name;
  auto it = std::find_if(results_.begin(), results_.end(), [&](const Result& r) { return r.key == key; });
  if (it == results_.end()) {
    Result r;
    r.key = key;
    r.name = name;
    results_.push_back(r);
    it = results_.end() - 1;
  } else if (!it->has_reset) {
    FULGUR_CHECK(it->on_step == on_step && it->on_epoch == on_epoch && it->options.reduce_fx == options.reduce_fx &&
                     (it->metric != nullptr) == value.is_metric(),
                 "log", "You called `self.log(", name, ", ...)` twice in `", fx,
                 "` with different arguments. This is not allowed");
  }
  Result& r = *it;
  const bool fresh = r.has_reset || (!r.has_step && !r.has_epoch && r.metric == nullptr);
  r.options = options;
  r.on_step = on_step;
  r.on_epoch = on_epoch;
  r.has_reset = false;
  if (value.is_metric()) {
    r.metric = value.metric();
    // Lightning logs the metric's forward() value on step; after update() alone there is none.
    const Tensor& cache = r.metric->forward_cache();
    r.has_step = cache.defined() && cache.numel() == 1;
    if (r.has_step) r.step_value = cache.item<double>();
    r.has_epoch = true;
    return;
  }
  const double v = value.number(name);
  r.step_value = v;
  r.has_step = true;
  if (!on_epoch) return;
  const std::string& fx_name = options.reduce_fx;
  if (fresh || !r.has_epoch) {
    r.value = fx_name == "mean" ? v * static_cast<double>(batch_size) : v;
    r.weight = static_cast<double>(batch_size);
  } else if (fx_name == "mean") {
    r.value += v * static_cast<double>(batch_size);
    r.weight += static_cast<double>(batch_size);
  } else if (fx_name == "sum") {
    r.value += v;
  } else if (fx_name == "max") {
    r.value = std::max(r.value, v);
  } else {
    r.value = std::min(r.value, v);
  }
  r.has_epoch = true;
}

double ResultCollection::epoch_value(Result& r) {
  if (r.metric) return r.metric->compute().item<double>();
  if (r.options.reduce_fx == "mean") return r.value / r.weight;
  return r.value;
}

MetricViews ResultCollection::metrics(bool on_step) {
  // Local values first, then one reduction for all the sync_dist ones (Lightning syncs the
  // step value with reduce_fx, and the epoch mean as sum(value * batch size) / sum(batch size)).
  struct Entry {
    Result* r;
    double value;
  };
  std::vector<Entry> entries;
  std::vector<SyncItem> items;
  std::vector<std::pair<size_t, int>> item_of;  // (entry, 0: value, 1: mean's numerator, 2: its weight)
  for (Result& r : results_) {
    if (r.has_reset) continue;
    if (on_step ? (!r.on_step || !r.has_step) : (!r.on_epoch || !r.has_epoch)) continue;
    const bool synced = sync_ && r.options.sync_dist && r.metric == nullptr;
    const std::string& fx = r.options.reduce_fx;
    if (on_step) {
      entries.push_back({&r, r.step_value});
      if (synced) {
        items.push_back({r.key + "@step", fx, r.step_value});
        item_of.emplace_back(entries.size() - 1, 0);
      }
      continue;
    }
    if (synced && fx == "mean") {
      entries.push_back({&r, 0});
      items.push_back({r.key + "@epoch", "sum", r.value});
      item_of.emplace_back(entries.size() - 1, 1);
      items.push_back({r.key + "@epoch_weight", "sum", r.weight});
      item_of.emplace_back(entries.size() - 1, 2);
      continue;
    }
    entries.push_back({&r, epoch_value(r)});
    if (synced) {
      items.push_back({r.key + "@epoch", fx, r.value});
      item_of.emplace_back(entries.size() - 1, 0);
    }
  }
  if (!items.empty()) {
    const std::vector<double> reduced = sync_(items);
    std::vector<double> numerator(entries.size(), 0);
    for (size_t i = 0; i < items.size(); ++i) {
      const auto [e, part] = item_of[i];
      if (part == 0) entries[e].value = reduced[i];
      else if (part == 1) numerator[e] = reduced[i];
      else entries[e].value = numerator[e] / reduced[i];
    }
  }
  MetricViews out;
  for (const Entry& e : entries) {
    const Result& r = *e.r;
    const double value = e.value;
    const bool forked = r.on_step && r.on_epoch;
    const std::string forked_name = forked ? r.name + (on_step ? "_step" : "_epoch") : r.name;
    if (r.options.logger) out.log[forked_name] = value;
    if (training_ || (r.on_epoch && !on_step)) {
      out.callback[r.name] = value;
      out.callback[forked_name] = value;
    }
    if (r.options.prog_bar) out.pbar[forked_name] = value;
  }
  return out;
}

void ResultCollection::reset() {
  for (Result& r : results_) {
    if (r.metric) r.metric->reset();
    r.has_reset = true;
    r.has_step = false;
    r.has_epoch = false;
    r.value = 0;
    r.weight = 0;
  }
}

}  // namespace fulgur::lightning::detail
