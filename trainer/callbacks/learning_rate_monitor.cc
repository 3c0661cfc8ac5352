#include "fulgur/trainer/callbacks/learning_rate_monitor.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

namespace {

// A param group's "name" option, if it has one.
std::optional<std::string> group_name(const optim::ParamGroup& group) {
  const Value* name = group.options.find("name");
  if (name == nullptr || !name->is_string()) return std::nullopt;
  return name->as_string();
}

double option_or(const optim::ParamGroup& group, const char* key, double fallback) {
  const Value* v = group.options.find(key);
  return v != nullptr && v->is_number() ? v->to_double() : fallback;
}

// Lightning's _check_duplicates_and_update_name: counts the optimizer's class (unless the
// scheduler names it), rejects duplicate group names, and returns one key per param group.
std::vector<std::string> keys_for(const optim::Optimizer& optimizer, std::string name, bool named_by_scheduler,
                                  std::map<std::string, int64_t>& seen_types) {
  const std::string& cls = optimizer.name();
  if (!named_by_scheduler) ++seen_types[cls];
  const auto& groups = optimizer.param_groups();
  std::vector<std::string> group_names;
  for (size_t i = 0; i < groups.size(); ++i) {
    group_names.push_back(group_name(groups[i]).value_or("pg" + std::to_string(i + 1)));
  }
  std::set<std::string> duplicates;
  for (const std::string& n : group_names) {
    if (std::count(group_names.begin(), group_names.end(), n) > 1) duplicates.insert(n);
  }
  if (!duplicates.empty()) {
    std::string set_repr;
    for (const std::string& d : duplicates) set_repr += (set_repr.empty() ? "{'" : ", '") + d + "'";
    FULGUR_FAIL("LearningRateMonitor", "A single `Optimizer` cannot have multiple parameter groups with identical "
                "`name` values. ", name, " has duplicated parameter group names ", set_repr, "}");
  }
  // Lightning's _add_prefix: the second optimizer of a class gets "-1", the third "-2", ...
  const auto seen = seen_types.find(cls);
  if (seen != seen_types.end() && seen->second > 1) name += "-" + std::to_string(seen->second - 1);
  // Lightning's _add_suffix.
  std::vector<std::string> keys;
  for (size_t i = 0; i < groups.size(); ++i) {
    if (groups.size() > 1) {
      keys.push_back(name + "/" + group_names[i]);
    } else {
      const std::optional<std::string> pg = group_name(groups[i]);
      keys.push_back(pg ? name + "/" + *pg : name);
    }
  }
  return keys;
}

}  // namespace

LearningRateMonitor::LearningRateMonitor(LearningRateMonitorOptions options) : options_(std::move(options)) {
  FULGUR_CHECK(!options_.logging_interval || *options_.logging_interval == "step" ||
                   *options_.logging_interval == "epoch",
               "LearningRateMonitor", "logging_interval should be `step` or `epoch` or `None`. (hint: got \"",
               options_.logging_interval.value_or(""), "\"; leave it unset to follow each scheduler's interval)");
}

LearningRateMonitor::Names LearningRateMonitor::find_names(Trainer& trainer) const {
  Names out;
  std::vector<const optim::Optimizer*> seen;
  std::map<std::string, int64_t> seen_types;
  const auto& configs = trainer.lr_scheduler_configs();
  for (const LRSchedulerConfig& config : configs) {
    const optim::Optimizer& opt = config.scheduler.optimizer();
    seen.push_back(&opt);
    const bool named = !config.name.empty();
    out.scheduler_keys.push_back(keys_for(opt, named ? config.name : "lr-" + opt.name(), named, seen_types));
  }
  for (const auto& opt : trainer.optimizers()) {
    if (std::find(seen.begin(), seen.end(), opt.get()) != seen.end()) continue;
    seen.push_back(opt.get());
    out.unscheduled_keys.push_back(keys_for(*opt, "lr-" + opt->name(), false, seen_types));
    out.unscheduled.push_back(opt.get());
  }
  return out;
}

void LearningRateMonitor::on_train_start(Trainer& trainer, LightningModule&) {
  FULGUR_CHECK(!trainer.loggers().empty(), "LearningRateMonitor",
               "Cannot use `LearningRateMonitor` callback with `Trainer` that has no logger. (hint: pass "
               ".logger = a logger to the Trainer, or remove the callback)");
  if (options_.log_momentum) {
    // Lightning: the optimizers of the schedulers if any, else all of them.
    auto lacks = [](const optim::Optimizer& o, const char* key) { return !o.defaults().contains(key); };
    auto any_lacks = [&](const char* key) {
      const auto& configs = trainer.lr_scheduler_configs();
      if (!configs.empty()) {
        return std::any_of(configs.begin(), configs.end(),
                           [&](const LRSchedulerConfig& c) { return lacks(c.scheduler.optimizer(), key); });
      }
      return std::any_of(trainer.optimizers().begin(), trainer.optimizers().end(),
                         [&](const auto& o) { return lacks(*o, key); });
    };
    if (any_lacks("momentum") && any_lacks("betas")) {
      rank_zero_printf("warning: You have set log_momentum=True, but some optimizers do not have momentum. This "
                       "will log a value 0 for the momentum.\n");
    }
  }
  const Names names = find_names(trainer);
  lrs_.clear();
  last_momentum_.clear();
  last_weight_decay_.clear();
  for (const auto* list : {&names.scheduler_keys, &names.unscheduled_keys}) {
    for (const auto& keys : *list) {
      for (const std::string& key : keys) {
        lrs_[key] = {};
        last_momentum_[key + "-momentum"] = std::nullopt;
        last_weight_decay_[key + "-weight_decay"] = std::nullopt;
      }
    }
  }
}

void LearningRateMonitor::on_train_batch_start(Trainer& trainer, LightningModule&, const Batch&, int64_t) {
  // Lightning's should_update_logs: `+ 1` because no step has been taken yet for this batch.
  const int64_t every = *trainer.options().log_every_n_steps;  // 0: never
  const bool should_update_logs =
      every != 0 && ((trainer.batches_that_stepped() + 1) % every == 0 || trainer.should_stop());
  if (!should_update_logs || options_.logging_interval == "epoch") return;
  log_stats(trainer, options_.logging_interval ? "any" : "step");
}

void LearningRateMonitor::on_train_epoch_start(Trainer& trainer, LightningModule&) {
  if (options_.logging_interval == "step") return;
  log_stats(trainer, options_.logging_interval ? "any" : "epoch");
}

void LearningRateMonitor::log_stats(Trainer& trainer, const std::string& interval) {
  std::map<std::string, double> stats;
  const Names names = find_names(trainer);
  remap_keys(names.scheduler_keys);
  const auto& configs = trainer.lr_scheduler_configs();
  for (size_t i = 0; i < configs.size() && i < names.scheduler_keys.size(); ++i) {
    if (interval != "any" && interval != configs[i].interval) continue;
    for (auto& [k, v] : optimizer_stats(configs[i].scheduler.optimizer(), names.scheduler_keys[i])) stats[k] = v;
  }
  remap_keys(names.unscheduled_keys);
  for (size_t i = 0; i < names.unscheduled.size(); ++i) {
    for (auto& [k, v] : optimizer_stats(*names.unscheduled[i], names.unscheduled_keys[i])) stats[k] = v;
  }
  for (const auto& [k, v] : stats) trainer.callback_metrics()[k] = v;
  if (stats.empty()) return;
  for (const auto& logger : trainer.loggers()) logger->log_metrics(stats, trainer.batches_that_stepped());
}

std::map<std::string, double> LearningRateMonitor::optimizer_stats(const optim::Optimizer& optimizer,
                                                                   const std::vector<std::string>& keys) {
  std::map<std::string, double> stats;
  const bool use_betas = optimizer.defaults().contains("betas");
  const auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size() && i < keys.size(); ++i) {
    const optim::ParamGroup& pg = groups[i];
    const std::string& key = keys[i];
    stats[key] = pg.lr();
    lrs_[key].push_back(pg.lr());
    if (options_.log_momentum) {
      double momentum = 0;
      const Value* betas = pg.options.find("betas");
      if (use_betas && betas != nullptr && (betas->is_tuple() || betas->is_list()) && !betas->elements().empty()) {
        momentum = betas->elements()[0].to_double();
      } else if (!use_betas) {
        momentum = option_or(pg, "momentum", 0.0);
      }
      stats[key + "-momentum"] = momentum;
      last_momentum_[key + "-momentum"] = momentum;
    }
    if (options_.log_weight_decay) {
      const double wd = option_or(pg, "weight_decay", 0.0);
      stats[key + "-weight_decay"] = wd;
      last_weight_decay_[key + "-weight_decay"] = wd;
    }
  }
  return stats;
}

void LearningRateMonitor::remap_keys(const std::vector<std::vector<std::string>>& keys) {
  const std::string token = "/pg1";
  for (const auto& group_keys : keys) {
    for (const std::string& key : group_keys) {
      const size_t at = key.find(token);
      std::string old_key = key;
      if (at != std::string::npos) old_key.erase(at, token.size());
      if (at != std::string::npos && lrs_.count(old_key) != 0) {
        lrs_[key] = std::move(lrs_[old_key]);
        lrs_.erase(old_key);
      } else if (lrs_.count(key) == 0) {
        lrs_[key] = {};
      }
    }
  }
}

}  // namespace fulgur::lightning::callbacks
