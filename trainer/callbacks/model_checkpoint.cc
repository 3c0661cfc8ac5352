#include "fulgur/trainer/callbacks/model_checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/serialize/yaml.h"
#include "fulgur/trainer/callbacks/python_format.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning::callbacks {

namespace fs = std::filesystem;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string py_repr(const std::string& s) { return Value(s).repr(); }

// Python's str.replace: one left-to-right pass, replacements are not scanned again.
std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// re.findall(r"(\{.*?)[:\}]", s): each "{name" up to the first ':' or '}' (not across a newline).
std::vector<std::string> template_groups(const std::string& s) {
  std::vector<std::string> groups;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t open = s.find('{', pos);
    if (open == std::string::npos) break;
    size_t end = open + 1;
    while (end < s.size() && s[end] != ':' && s[end] != '}' && s[end] != '\n') ++end;
    if (end < s.size() && s[end] != '\n') {
      groups.push_back(s.substr(open, end - open));
      pos = end + 1;
    } else {
      pos = open + 1;
    }
  }
  return groups;
}

// Python's datetime.timedelta repr (Python >= 3.7): "datetime.timedelta(seconds=5)".
std::string timedelta_repr(std::chrono::microseconds d) {
  int64_t us = d.count();
  int64_t days = us / 86400000000LL;
  us -= days * 86400000000LL;
  if (us < 0) {
    --days;
    us += 86400000000LL;
  }
  const int64_t seconds = us / 1000000;
  const int64_t micros = us % 1000000;
  std::string args;
  auto add = [&](const char* name, int64_t v) {
    if (v == 0) return;
    args += (args.empty() ? "" : ", ") + std::string(name) + "=" + std::to_string(v);
  };
  add("days", days);
  add("seconds", seconds);
  add("microseconds", micros);
  return "datetime.timedelta(" + (args.empty() ? std::string("0") : args) + ")";
}

}  // namespace

SaveLast::SaveLast(const char* mode) : mode_(2) {
  FULGUR_CHECK(mode != nullptr && std::string(mode) == "link", "ModelCheckpoint",
               "save_last must be True, False, None or \"link\", got \"", mode == nullptr ? "" : mode, "\"");
}

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options) : options_(std::move(options)) {
  const ModelCheckpointOptions& o = options_;
  // Lightning's __init_monitor_mode.
  FULGUR_CHECK(o.mode == "min" || o.mode == "max", "ModelCheckpoint", "`mode` can be min, max but got ", o.mode);
  kth_value_ = o.mode == "min" ? kInf : -kInf;
  // __init_ckpt_dir: a given dirpath becomes absolute (realpath).
  if (o.dirpath && !o.dirpath->empty()) {
    std::string path = *o.dirpath;
    const char* home = std::getenv("HOME");
    if (home != nullptr && (path == "~" || path.rfind("~/", 0) == 0)) path = home + path.substr(1);  // expanduser
    dirpath_ = fs::weakly_canonical(fs::absolute(path)).string();
  }
  // __init_triggers: nothing given means once per epoch.
  if (!o.every_n_train_steps && !o.every_n_epochs && !o.train_time_interval) {
    every_n_epochs_ = 1;
    every_n_train_steps_ = 0;
  } else {
    every_n_epochs_ = o.every_n_epochs.value_or(0);
    every_n_train_steps_ = o.every_n_train_steps.value_or(0);
  }
  // __validate_init_configuration.
  FULGUR_CHECK(o.save_top_k >= -1, "ModelCheckpoint", "Invalid value for save_top_k=", o.save_top_k,
               ". Must be >= -1");
  FULGUR_CHECK(every_n_train_steps_ >= 0, "ModelCheckpoint", "Invalid value for every_n_train_steps=",
               every_n_train_steps_, ". Must be >= 0");
  FULGUR_CHECK(every_n_epochs_ >= 0, "ModelCheckpoint", "Invalid value for every_n_epochs=", every_n_epochs_,
               ". Must be >= 0");
  const int triggers = (every_n_train_steps_ >= 1 ? 1 : 0) + (every_n_epochs_ >= 1 ? 1 : 0) +
                       (o.train_time_interval ? 1 : 0);
  FULGUR_CHECK(triggers <= 1, "ModelCheckpoint", "Combination of parameters every_n_train_steps=",
               every_n_train_steps_, ", every_n_epochs=", every_n_epochs_, " and train_time_interval=",
               o.train_time_interval ? timedelta_repr(*o.train_time_interval) : std::string("None"),
               " should be mutually exclusive.");
  FULGUR_CHECK(o.monitor || o.save_top_k == -1 || o.save_top_k == 0 || o.save_top_k == 1, "ModelCheckpoint",
               "ModelCheckpoint(save_top_k=", o.save_top_k,
               ", monitor=None) is not a valid configuration. No quantity for top_k to track.");
}

std::string ModelCheckpoint::state_key() const {
  const ModelCheckpointOptions& o = options_;
  return "ModelCheckpoint{'monitor': " + (o.monitor ? py_repr(*o.monitor) : std::string("None")) +
         ", 'mode': " + py_repr(o.mode) + ", 'every_n_train_steps': " + std::to_string(every_n_train_steps_) +
         ", 'every_n_epochs': " + std::to_string(every_n_epochs_) + ", 'train_time_interval': " +
         (o.train_time_interval ? timedelta_repr(*o.train_time_interval) : std::string("None")) + "}";
}

Value ModelCheckpoint::state_dict() const {
  Value best_k = Value::dict();
  for (const auto& [path, score] : best_k_models_) best_k.set(path, score);
  auto opt = [](const std::optional<double>& v) { return v ? Value(*v) : Value(); };
  return Value::dict({{"monitor", options_.monitor ? Value(*options_.monitor) : Value()},
                      {"best_model_score", opt(best_model_score_)},
                      {"best_model_path", best_model_path_},
                      {"current_score", opt(current_score_)},
                      {"dirpath", dirpath_ ? Value(*dirpath_) : Value()},
                      {"best_k_models", best_k},
                      {"kth_best_model_path", kth_best_model_path_},
                      {"kth_value", kth_value_},
                      {"last_model_path", last_model_path_}});
}

namespace {
// Lightning saves scores as 0-d tensors; we save floats and read either.
std::optional<double> score_value(const Value& v) {
  if (v.is_none()) return std::nullopt;
  if (v.is_tensor()) return v.as_tensor().item<double>();
  return v.to_double();
}
}  // namespace

void ModelCheckpoint::load_state_dict(const Value& state) {
  FULGUR_CHECK(state.is_dict(), "ModelCheckpoint.load_state_dict", "expected a dict, got ", state.type_name());
  FULGUR_CHECK(state.contains("best_model_path") && state.contains("best_model_score"),
               "ModelCheckpoint.load_state_dict", "the state has no 'best_model_path'/'best_model_score' (hint: was "
               "it saved by ModelCheckpoint?)");
  const Value* saved_dir = state.find("dirpath");
  const std::optional<std::string> dir_from_ckpt =
      saved_dir == nullptr ? dirpath_ : saved_dir->is_none() ? std::nullopt : std::optional(saved_dir->as_string());
  if (dir_from_ckpt == dirpath_) {
    best_model_score_ = score_value(state.at("best_model_score"));
    if (const Value* v = state.find("kth_best_model_path")) kth_best_model_path_ = v->as_string();
    if (const Value* v = state.find("kth_value")) kth_value_ = score_value(*v).value_or(kth_value_);
    if (const Value* v = state.find("best_k_models")) {
      best_k_models_.clear();
      for (const Value::Item& item : v->items()) {
        const std::optional<double> score = score_value(item.second);
        best_k_models_.emplace_back(item.first.as_string(), score.value_or(options_.mode == "min" ? kInf : -kInf));
      }
    }
    if (const Value* v = state.find("last_model_path")) last_model_path_ = v->as_string();
  } else {
    // warnings.warn in Lightning, not rank_zero_warn: every rank prints it.
    std::fprintf(
        stderr,
        "warning: The dirpath has changed from %s to %s, therefore `best_model_score`, "
        "`kth_best_model_path`, `kth_value`, `last_model_path` and `best_k_models` won't be reloaded. Only "
        "`best_model_path` will be reloaded.\n",
        dir_from_ckpt ? py_repr(*dir_from_ckpt).c_str() : "None",
        dirpath_ ? py_repr(*dirpath_).c_str() : "None");
  }
  best_model_path_ = state.at("best_model_path").as_string();
}

std::string ModelCheckpoint::resolve_ckpt_dir(const Trainer& trainer) const {
  if (dirpath_) return *dirpath_;
  const auto& loggers = trainer.loggers();
  if (!loggers.empty()) {
    const Logger& logger = *loggers[0];
    const std::string save_dir = logger.save_dir().value_or(trainer.default_root_dir());
    const Value version = logger.version();
    const std::string v = version.is_string() ? version.as_string() : "version_" + version.repr();
    return (fs::path(save_dir) / logger.name() / v / "checkpoints").string();
  }
  return (fs::path(trainer.default_root_dir()) / "checkpoints").string();
}

void ModelCheckpoint::setup(Trainer& trainer, LightningModule&, const std::string& stage) {
  // Lightning's __resolve_ckpt_dir: rank 0's folder everywhere (another rank's logger may see
  // a version folder rank 0 just created and count one more).
  dirpath_ = trainer.strategy().broadcast(Value(resolve_ckpt_dir(trainer))).as_string();
  val_loop_ran_ = false;
  std::error_code ec;
  // rank_zero_warn in Lightning: once per run, not once per rank.
  if (stage == "fit" && trainer.is_global_zero() && options_.save_top_k != 0 && fs::is_directory(*dirpath_, ec) &&
      !fs::is_empty(*dirpath_, ec)) {
    rank_zero_printf("warning: Checkpoint directory %s exists and is not empty.\n", dirpath_->c_str());
  }
}

void ModelCheckpoint::on_train_start(Trainer&, LightningModule&) {
  last_time_checked_ = std::chrono::steady_clock::now();
}

void ModelCheckpoint::on_train_batch_end(Trainer& trainer, LightningModule&, const Value&, const Batch&, int64_t) {
  if (should_skip_saving_checkpoint(trainer)) return;
  const bool skip_batch = every_n_train_steps_ < 1 || trainer.global_step() % every_n_train_steps_ != 0;
  bool skip_time = true;
  const auto now = std::chrono::steady_clock::now();
  if (options_.train_time_interval && options_.train_time_interval->count() > 0) {
    skip_time = !last_time_checked_ || now - *last_time_checked_ < *options_.train_time_interval;
  }
  if (skip_batch && skip_time) return;
  if (!skip_time) last_time_checked_ = now;
  const Candidates metrics = monitor_candidates(trainer);
  save_topk_checkpoint(trainer, metrics);
  save_last_checkpoint(trainer, metrics);
}

void ModelCheckpoint::on_train_epoch_end(Trainer& trainer, LightningModule&) {
  if (should_skip_saving_checkpoint(trainer) || !should_save_on_train_epoch_end(trainer)) return;
  const Candidates metrics = monitor_candidates(trainer);
  if (every_n_epochs_ >= 1 && (trainer.current_epoch() + 1) % every_n_epochs_ == 0) {
    save_topk_checkpoint(trainer, metrics);
  }
  save_last_checkpoint(trainer, metrics);
}

void ModelCheckpoint::on_validation_end(Trainer& trainer, LightningModule&) {
  val_loop_ran_ = true;
  if (should_skip_saving_checkpoint(trainer) || should_save_on_train_epoch_end(trainer)) return;
  const Candidates metrics = monitor_candidates(trainer);
  if (every_n_epochs_ >= 1 && (trainer.current_epoch() + 1) % every_n_epochs_ == 0) {
    save_topk_checkpoint(trainer, metrics);
  }
  save_last_checkpoint(trainer, metrics);
}

bool ModelCheckpoint::should_skip_saving_checkpoint(const Trainer& trainer) const {
  return trainer.options().fast_dev_run > 0 || trainer.state().fn != "fit" || trainer.sanity_checking() ||
         last_global_step_saved_ == trainer.global_step();
}

bool ModelCheckpoint::should_save_on_train_epoch_end(const Trainer& trainer) const {
  if (options_.save_on_train_epoch_end) return *options_.save_on_train_epoch_end;
  // Lightning: validating not every epoch, we cannot tell when the val loader is ready.
  if (trainer.options().check_val_every_n_epoch != std::optional<int64_t>(1)) return false;
  int64_t val_batches = 0;
  for (int64_t n : trainer.num_val_batches()) val_batches += n;
  if (val_batches == 0) return true;
  // Validating several times per epoch: save after each validation instead.
  const BatchLimit& vci = trainer.options().val_check_interval;
  return vci.is_count() ? vci.count() == 1 : vci.fraction() == 1.0;
}

ModelCheckpoint::Candidates ModelCheckpoint::monitor_candidates(const Trainer& trainer) const {
  Candidates c;
  for (const auto& [k, v] : trainer.callback_metrics()) c[k] = {v, false};
  // A logged "epoch"/"step" is cast to int (Lightning: epoch.int()), else the trainer's.
  auto as_int = [&](const char* key, int64_t fallback) {
    const auto it = c.find(key);
    const double v = it != c.end() ? std::trunc(it->second.value) : static_cast<double>(fallback);
    c[key] = {v, true};
  };
  as_int("epoch", trainer.current_epoch());
  as_int("step", trainer.global_step());
  return c;
}

std::string ModelCheckpoint::format_name(Candidates metrics, const std::optional<std::string>& filename,
                                         std::optional<int64_t> ver) const {
  // Lightning's _format_checkpoint_name: "{name" -> "name={name" (auto_insert_metric_name),
  // then Python's str.format with the metrics; longest names first so that "{epoch" does not
  // clobber "{epoch_test".
  std::string name = filename && !filename->empty() ? *filename : "{epoch}" + CHECKPOINT_JOIN_CHAR + "{step}";
  std::vector<std::string> groups = template_groups(name);
  std::stable_sort(groups.begin(), groups.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& group : groups) {
    const std::string key = group.substr(1);
    if (options_.auto_insert_metric_name) name = replace_all(name, group, key + CHECKPOINT_EQUALS_CHAR + "{" + key);
    name = replace_all(name, group, "{0[" + key + "]");
    if (metrics.count(key) == 0) metrics[key] = {0.0, true};  // Lightning: torch.tensor(0)
  }
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    const char ch = name[i];
    if (ch == '}') {
      FULGUR_CHECK(i + 1 < name.size() && name[i + 1] == '}', "ModelCheckpoint",
                   "Single '}' encountered in format string ", py_repr(name));
      out += '}';
      ++i;
      continue;
    }
    if (ch != '{') {
      out += ch;
      continue;
    }
    if (i + 1 < name.size() && name[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    FULGUR_CHECK(name.compare(i, 3, "{0[") == 0, "ModelCheckpoint", "cannot format the checkpoint filename ",
                 py_repr(name), " (hint: fields look like {val_loss} or {val_loss:.2f})");
    const size_t key_end = name.find(']', i + 3);
    FULGUR_CHECK(key_end != std::string::npos, "ModelCheckpoint", "Missing ']' in format string ", py_repr(name));
    const std::string key = name.substr(i + 3, key_end - i - 3);
    size_t j = key_end + 1;
    std::string spec;
    if (j < name.size() && name[j] == ':') {
      const size_t close = name.find('}', j);
      FULGUR_CHECK(close != std::string::npos, "ModelCheckpoint", "expected '}' before end of string in ",
                   py_repr(name));
      spec = name.substr(j + 1, close - j - 1);
      j = close;
    }
    FULGUR_CHECK(j < name.size() && name[j] == '}', "ModelCheckpoint", "expected '}' before end of string in ",
                 py_repr(name));
    const Candidate& c = metrics.at(key);
    out += python_format_number(c.value, c.is_int, spec, key);
    i = j;
  }
  if (ver) out += CHECKPOINT_JOIN_CHAR + "v" + std::to_string(*ver);
  out += FILE_EXTENSION;
  return dirpath_ ? (fs::path(*dirpath_) / out).string() : out;
}

std::string ModelCheckpoint::format_checkpoint_name(const std::map<std::string, double>& metrics,
                                                    const std::optional<std::string>& filename,
                                                    std::optional<int64_t> ver) const {
  Candidates c;
  for (const auto& [k, v] : metrics) c[k] = {v, k == "epoch" || k == "step"};
  return format_name(std::move(c), filename ? filename : options_.filename, ver);
}

// Lightning's file_exists: rank 0's answer on every rank, so that all ranks pick the same
// name (rank 0 may be writing the file another rank is looking for).
bool ModelCheckpoint::file_exists(Trainer& trainer, const std::string& path) const {
  std::error_code ec;
  const bool here = fs::exists(fs::symlink_status(path, ec));
  if (trainer.world_size() == 1) return here;
  return trainer.strategy().all_gather_strings(here ? "1" : "0").at(0) == "1";
}

std::string ModelCheckpoint::interpolated_filepath(Trainer& trainer, const Candidates& metrics,
                                                   const std::string& del_filepath) const {
  std::string filepath = format_name(metrics, options_.filename, std::nullopt);
  if (options_.enable_version_counter) {
    int64_t version = STARTING_VERSION;
    while (file_exists(trainer, filepath) && filepath != del_filepath) {
      filepath = format_name(metrics, options_.filename, version++);
    }
  }
  return filepath;
}

void ModelCheckpoint::save_topk_checkpoint(Trainer& trainer, const Candidates& metrics) {
  if (options_.save_top_k == 0) return;
  if (!options_.monitor) {
    save_none_monitor_checkpoint(trainer, metrics);
    return;
  }
  if (metrics.count(*options_.monitor) == 0) {
    // Lightning's list: the callback metrics, then the "epoch" and "step" it adds.
    std::string keys;
    for (const auto& [k, v] : trainer.callback_metrics()) keys += (keys.empty() ? "" : ", ") + py_repr(k);
    for (const char* added : {"epoch", "step"}) {
      if (trainer.callback_metrics().count(added) == 0) keys += (keys.empty() ? "" : ", ") + py_repr(added);
    }
    const std::string m = "`ModelCheckpoint(monitor=" + py_repr(*options_.monitor) +
                          ")` could not find the monitored key in the returned metrics: [" + keys +
                          "]. HINT: Did you call `log(" + py_repr(*options_.monitor) +
                          ", value)` in the `LightningModule`?";
    FULGUR_CHECK(!val_loop_ran_, "ModelCheckpoint", m);
    if (!warned_missing_) rank_zero_printf("warning: %s\n", m.c_str());
    warned_missing_ = true;
  }
  save_monitor_checkpoint(trainer, metrics);
}

bool ModelCheckpoint::check_monitor_top_k(std::optional<double> current) const {
  if (!current) return false;
  if (options_.save_top_k == -1) return true;
  if (static_cast<int64_t>(best_k_models_.size()) < options_.save_top_k) return true;
  const double kth = score_of(kth_best_model_path_);
  return options_.mode == "min" ? *current < kth : *current > kth;
}

double ModelCheckpoint::score_of(const std::string& path) const {
  for (const auto& [p, s] : best_k_models_) {
    if (p == path) return s;
  }
  FULGUR_FAIL("ModelCheckpoint", "internal: ", py_repr(path), " is not in best_k_models");
}

void ModelCheckpoint::save_monitor_checkpoint(Trainer& trainer, const Candidates& metrics) {
  const auto it = metrics.find(*options_.monitor);
  const std::optional<double> current =
      it == metrics.end() ? std::nullopt : std::optional<double>(it->second.value);
  // Lightning: saved when any rank's (unsynced) value qualifies, so that every rank takes the
  // same branch (the save is a collective).
  if (trainer.strategy().reduce_boolean_decision(check_monitor_top_k(current), false) && current) {
    update_best_and_save(*current, trainer, metrics);
  } else if (options_.verbose) {
    rank_zero_printf("Epoch %lld, global step %lld: %s was not in top %lld\n",
                     static_cast<long long>(metrics.at("epoch").value),
                     static_cast<long long>(metrics.at("step").value),
                     py_repr(*options_.monitor).c_str(), static_cast<long long>(options_.save_top_k));
  }
}

void ModelCheckpoint::save_none_monitor_checkpoint(Trainer& trainer, const Candidates& metrics) {
  const std::string filepath = interpolated_filepath(trainer, metrics, best_model_path_);
  // Set before saving: the path is part of the saved state.
  const std::string previous = best_model_path_;
  best_model_path_ = filepath;
  save_checkpoint(trainer, filepath);
  if (options_.save_top_k == 1 && !previous.empty() && should_remove_checkpoint(trainer, previous, filepath) &&
      trainer.is_global_zero()) {
    std::error_code ec;
    fs::remove(previous, ec);
  }
}

void ModelCheckpoint::update_best_and_save(double current, Trainer& trainer, const Candidates& metrics) {
  const int64_t k = options_.save_top_k == -1 ? static_cast<int64_t>(best_k_models_.size()) + 1 : options_.save_top_k;
  std::string del_filepath;
  if (static_cast<int64_t>(best_k_models_.size()) == k && k > 0) {
    del_filepath = kth_best_model_path_;
    const auto kth = std::find_if(best_k_models_.begin(), best_k_models_.end(),
                                  [&](const auto& e) { return e.first == del_filepath; });
    if (kth != best_k_models_.end()) best_k_models_.erase(kth);
  }
  // Lightning does not keep NaN: it becomes the worst score.
  if (std::isnan(current)) current = options_.mode == "min" ? kInf : -kInf;
  const std::string filepath = interpolated_filepath(trainer, metrics, del_filepath);
  current_score_ = current;
  const auto same = std::find_if(best_k_models_.begin(), best_k_models_.end(),
                                 [&](const auto& e) { return e.first == filepath; });
  if (same != best_k_models_.end()) same->second = current;  // a dict keeps the key's position
  else best_k_models_.emplace_back(filepath, current);
  const bool min_mode = options_.mode == "min";
  // Python's max/min return the first extreme in insertion order.
  auto extreme = [&](bool want_max) {
    auto best = best_k_models_.begin();
    for (auto e = best_k_models_.begin(); e != best_k_models_.end(); ++e) {
      if (want_max ? e->second > best->second : e->second < best->second) best = e;
    }
    return *best;
  };
  if (static_cast<int64_t>(best_k_models_.size()) == k) {
    const auto kth = extreme(min_mode);
    kth_best_model_path_ = kth.first;
    kth_value_ = kth.second;
  }
  const auto best = extreme(!min_mode);
  best_model_path_ = best.first;
  best_model_score_ = best.second;
  if (options_.verbose) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%0.5f (best %0.5f)", current, *best_model_score_);
    rank_zero_printf("Epoch %lld, global step %lld: %s reached %s, saving model to %s as top %lld\n",
                     static_cast<long long>(metrics.at("epoch").value),
                     static_cast<long long>(metrics.at("step").value),
                     py_repr(*options_.monitor).c_str(), buf, py_repr(filepath).c_str(), static_cast<long long>(k));
  }
  save_checkpoint(trainer, filepath);
  if (!del_filepath.empty() && should_remove_checkpoint(trainer, del_filepath, filepath) &&
      trainer.is_global_zero()) {
    std::error_code ec;
    fs::remove(del_filepath, ec);
  }
}

void ModelCheckpoint::save_last_checkpoint(Trainer& trainer, const Candidates& metrics) {
  if (!options_.save_last) return;
  std::string filepath = format_name(metrics, CHECKPOINT_NAME_LAST, std::nullopt);
  if (options_.enable_version_counter) {
    int64_t version = STARTING_VERSION;
    while (file_exists(trainer, filepath) && filepath != last_model_path_) {
      filepath = format_name(metrics, CHECKPOINT_NAME_LAST, version++);
    }
  }
  const std::string previous = last_model_path_;
  last_model_path_ = filepath;  // part of the saved state
  if (options_.save_last.link() && !last_checkpoint_saved_.empty() && options_.save_top_k != 0) {
    // last.ckpt -> the checkpoint just written; replaced atomically through a temporary link.
    // Files are rank 0's business (Lightning's strategy.save_checkpoint / remove_checkpoint).
    if (trainer.is_global_zero()) {
    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(filepath, ec))) fs::remove_all(filepath, ec);
    const std::string temp = filepath + ".link-tmp";
    fs::remove(temp, ec);
    fs::create_symlink(last_checkpoint_saved_, temp);
    fs::rename(temp, filepath);
    }
    trainer.strategy().barrier("ModelCheckpoint.link");
  } else {
    save_checkpoint(trainer, filepath);
  }
  if (!previous.empty() && should_remove_checkpoint(trainer, previous, filepath) &&
      trainer.is_global_zero()) {
    std::error_code ec;
    fs::remove(previous, ec);
  }
}

void ModelCheckpoint::save_checkpoint(Trainer& trainer, const std::string& filepath) {
  trainer.save_checkpoint(filepath, options_.save_weights_only);
  last_global_step_saved_ = trainer.global_step();
  last_checkpoint_saved_ = filepath;
  if (trainer.is_global_zero()) {
    for (const auto& logger : trainer.loggers()) logger->after_save_checkpoint(*this);
  }
}

bool ModelCheckpoint::should_remove_checkpoint(const Trainer& trainer, const std::string& previous,
                                               const std::string& current) const {
  // Kept: the file just written, the checkpoint this fit resumed from, files outside dirpath.
  if (previous == current) return false;
  const fs::path prev = fs::absolute(previous).lexically_normal();
  if (!trainer.ckpt_path().empty() && prev == fs::absolute(trainer.ckpt_path()).lexically_normal()) return false;
  if (!dirpath_) return false;
  const fs::path dir = fs::absolute(*dirpath_).lexically_normal();
  for (fs::path p = prev.parent_path(); !p.empty(); p = p.parent_path()) {
    if (p == dir) return true;
    if (p == p.parent_path()) break;
  }
  return false;
}

std::set<std::string> ModelCheckpoint::find_last_checkpoints(const Trainer& trainer) const {
  const fs::path dir = resolve_ckpt_dir(trainer);
  std::set<std::string> found;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path& p = entry.path();
    // Lightning: suffix ".ckpt" and the stem matches ^last(-(\d+))? (a prefix match).
    if (p.extension() == FILE_EXTENSION && p.stem().string().rfind(CHECKPOINT_NAME_LAST, 0) == 0) {
      found.insert(p.lexically_normal().string());
    }
  }
  return found;
}

void ModelCheckpoint::to_yaml(const std::optional<std::string>& filepath) const {
  FULGUR_CHECK(filepath || dirpath_, "ModelCheckpoint.to_yaml", "no filepath given and dirpath is not known yet "
               "(hint: call it after fit, or pass a path)");
  const std::string path = filepath ? *filepath : (fs::path(*dirpath_) / "best_k_models.yaml").string();
  // yaml.dump of {path: score}: keys sorted, as PyYAML's default.
  const std::map<std::string, double> sorted(best_k_models_.begin(), best_k_models_.end());
  Value scores = Value::dict();
  for (const auto& [p, score] : sorted) scores.set(p, score);
  serialize::write_file_atomic(path, fulgur::to_yaml(scores), "ModelCheckpoint.to_yaml");
}

}  // namespace fulgur::lightning::callbacks
