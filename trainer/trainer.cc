// The Trainer's construction, run scaffolding (setup, teardown, callbacks, loaders) and
// logging. The loops are in fit_loop.cc and evaluation_loop.cc.
#include "fulgur/trainer/trainer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "fulgur/autograd/autograd.h"
#include "fulgur/kernels/error.h"
#include "fulgur/tensor/algorithm_flags.h"
#include "fulgur/trainer/callbacks/model_summary.h"
#include "fulgur/trainer/callbacks/progress_bar.h"
#include "fulgur/trainer/class_name.h"
#include "fulgur/trainer/profilers/simple_profiler.h"
#include "fulgur/trainer/rank_zero.h"

namespace fulgur::lightning {

int64_t BatchLimit::apply(int64_t n, const char* option) const {
  if (is_count_) return std::min(n, count_);
  const auto limited = static_cast<int64_t>(static_cast<double>(n) * fraction_);
  FULGUR_CHECK(fraction_ == 0 || n == 0 || limited >= 1, "Trainer", "You requested to check ", fraction_,
               " of the dataloader but ", fraction_, " * ", n, " < 1. Please increase the `", option,
               "` argument. Try at least `", option, "=", 1.0 / static_cast<double>(n), "`");
  return limited;
}

std::string ProfilerOption::name() const { return profiler_ ? python_class_name(typeid(*profiler_)) : name_; }

// Lightning's _init_profiler (names are case-insensitive; "" is none).
std::shared_ptr<profilers::Profiler> ProfilerOption::make() const {
  if (profiler_ != nullptr) return profiler_;
  std::string name = name_;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.empty()) return std::make_shared<profilers::PassThroughProfiler>();
  if (name == "simple") return std::make_shared<profilers::SimpleProfiler>();
  FULGUR_CHECK(name != "advanced" && name != "pytorch" && name != "xla", "Trainer",
               "`profiler=\"", name_, "\"` is a Python-only profiler (cProfile, torch.profiler or XLA); hint: use "
               "profiler=\"simple\" (L::profilers::SimpleProfiler) or pass your own L::profilers::Profiler");
  FULGUR_FAIL("Trainer", "When passing string value for the `profiler` parameter of `Trainer`, it can only be one of "
              "['simple', 'advanced', 'pytorch', 'xla'], got '", name_, "'");
}

namespace {
void check_limit(const BatchLimit& l, const char* name) {
  if (l.is_count()) {
    FULGUR_CHECK(l.count() >= 0, "Trainer", "`", name, "` must be a non-negative int or a float in [0.0, 1.0], got ",
                 l.count());
  } else {
    FULGUR_CHECK(l.fraction() >= 0 && l.fraction() <= 1, "Trainer", "`", name,
                 "` must be an int or a float between 0.0 and 1.0, got ", l.fraction(),
                 "; hint: an integer counts batches, a float is a fraction of the loader");
  }
}

// Lightning's _set_torch_flags: deterministic and benchmark are process-wide, as torch's are.
void set_algorithm_flags(bool deterministic, std::optional<bool> benchmark) {
  if (deterministic) {
    if (!benchmark) {
      benchmark = false;
    } else if (*benchmark) {
      rank_zero_printf("You passed `deterministic=True` and `benchmark=True`. Fulgur still picks only "
                       "deterministic cuDNN algorithms, timing those.\n");
    }
    use_deterministic_algorithms(true);
  }
  if (benchmark) set_cudnn_benchmark(*benchmark);
}
}  // namespace

namespace {
// Lightning's Trainer.__init__ opt-outs: barebones turns them off (asking for one is an error),
// otherwise the unset ones take their defaults.
void resolve_opt_outs(TrainerOptions& o) {
  if (!o.barebones) {
    o.enable_checkpointing = o.enable_checkpointing.value_or(true);
    if (!o.logger.given()) o.logger = true;
    o.enable_progress_bar = o.enable_progress_bar.value_or(true);
    o.log_every_n_steps = o.log_every_n_steps.value_or(50);
    o.enable_model_summary = o.enable_model_summary.value_or(true);
    o.num_sanity_val_steps = o.num_sanity_val_steps.value_or(2);
    return;
  }
  auto refuse = [](bool asked, const std::string& option, const char* why) {
    FULGUR_CHECK(!asked, "Trainer", "`Trainer(barebones=True, ", option, ")` was passed. ", why,
                 "; hint: drop the option, or barebones");
  };
  refuse(o.enable_checkpointing.value_or(false), "enable_checkpointing=True",
         "Checkpointing can impact raw speed so it is disabled in barebones mode");
  // (Lightning: anything but None and False, an empty list included.)
  refuse(o.logger.enabled() || o.logger.is_list(),
         o.logger.use_default() ? "logger=True" : (o.logger.loggers().empty() ? "logger=[]" : "logger=<a Logger>"),
         "Logging can impact raw speed so it is disabled in barebones mode");
  refuse(o.enable_progress_bar.value_or(false), "enable_progress_bar=True",
         "The progress bar can impact raw speed so it is disabled in barebones mode");
  refuse(o.log_every_n_steps.value_or(0) != 0, "log_every_n_steps=" + std::to_string(o.log_every_n_steps.value_or(0)),
         "Logging can impact raw speed so it is disabled in barebones mode");
  refuse(o.enable_model_summary.value_or(false), "enable_model_summary=True",
         "Model summary can impact raw speed so it is disabled in barebones mode");
  refuse(o.num_sanity_val_steps.value_or(0) != 0,
         "num_sanity_val_steps=" + std::to_string(o.num_sanity_val_steps.value_or(0)),
         "Sanity checking can impact raw speed so it is disabled in barebones mode");
  refuse(o.fast_dev_run != 0, "fast_dev_run=" + std::to_string(o.fast_dev_run),
         "Development run is not meant for raw speed evaluation so it is disabled in barebones mode");
  refuse(o.detect_anomaly, "detect_anomaly=True",
         "Anomaly detection can impact raw speed so it is disabled in barebones mode");
  refuse(!o.profiler.is_none(), "profiler='" + o.profiler.name() + "'",
         "Profiling can impact raw speed so it is disabled in barebones mode");
  o.enable_checkpointing = false;
  o.logger = false;
  o.enable_progress_bar = false;
  o.log_every_n_steps = 0;
  o.enable_model_summary = false;
  o.num_sanity_val_steps = 0;
  rank_zero_printf(
      "You are running in `Trainer(barebones=True)` mode. All features that may impact raw speed have been disabled "
      "to facilitate analyzing the Trainer overhead. Specifically, the following features are deactivated:\n"
      " - Checkpointing: `Trainer(enable_checkpointing=True)`\n"
      " - Progress bar: `Trainer(enable_progress_bar=True)`\n"
      " - Model summary: `Trainer(enable_model_summary=True)`\n"
      " - Logging: `Trainer(logger=True)`, `Trainer(log_every_n_steps>0)`, `LightningModule.log(...)`, "
      "`LightningModule.log_dict(...)`\n"
      " - Sanity checking: `Trainer(num_sanity_val_steps>0)`\n"
      " - Development run: `Trainer(fast_dev_run=True)`\n"
      " - Anomaly detection: `Trainer(detect_anomaly=True)`\n"
      " - Profiling: `Trainer(profiler=...)`\n");
}
}  // namespace

Trainer::Trainer(TrainerOptions options) : options_(std::move(options)) {
  resolve_opt_outs(options_);
  profiler_ = options_.profiler.make();
  profiling_ = profiler_->enabled();
  FULGUR_CHECK(options_.fast_dev_run >= 0, "Trainer", "fast_dev_run=", options_.fast_dev_run,
               " is not a valid configuration. It should be >= 0");
  if (options_.fast_dev_run > 0) {
    // Lightning's _init_debugging_flags.
    const int64_t n = options_.fast_dev_run;
    options_.limit_train_batches = n;
    options_.limit_val_batches = n;
    options_.limit_test_batches = n;
    options_.limit_predict_batches = n;
    options_.max_steps = n;
    options_.num_sanity_val_steps = 0;
    options_.max_epochs = 1;
    options_.val_check_interval = 1.0;
    options_.check_val_every_n_epoch = 1;
    rank_zero_printf("Running in `fast_dev_run` mode: will run the requested loop using %lld batch(es). Logging "
                     "and checkpointing is suppressed.\n", static_cast<long long>(n));
  }
  check_limit(options_.overfit_batches, "overfit_batches");
  const BatchLimit& overfit = options_.overfit_batches;
  if (options_.fast_dev_run == 0 && (overfit.is_count() ? overfit.count() > 0 : overfit.fraction() > 0)) {
    // Lightning's _init_debugging_flags: overfitting limits the train and val loops alike.
    options_.limit_train_batches = overfit;
    options_.limit_val_batches = overfit;
  }
  const TrainerOptions& o = options_;
  set_algorithm_flags(o.deterministic, o.benchmark);
  {
    // Lightning's _AcceleratorConnector: invalid hardware flags fail here, before anything runs.
    AcceleratorConnector connector(o.accelerator, o.strategy, o.devices, o.num_nodes);
    accelerator_ = std::move(connector.accelerator);
    strategy_ = std::move(connector.strategy);
    device_ids_ = std::move(connector.device_ids);
    num_nodes_ = connector.num_nodes;
  }
  {
    // Lightning's precision flag: aliases canonicalised (with its warning), then the plugin.
    std::string warning;
    const std::string flag = canonical_precision(o.precision, &warning);
    if (!warning.empty()) rank_zero_printf("%s\n", warning.c_str());
    warning.clear();
    precision_plugin_ = make_precision(flag, strategy_->root_device(), &warning);
    if (!warning.empty()) rank_zero_printf("%s\n", warning.c_str());
    strategy_->set_precision_plugin(precision_plugin_.get());
  }
  FULGUR_CHECK(o.accumulate_grad_batches >= 1, "Trainer", "`Trainer(accumulate_grad_batches=",
               o.accumulate_grad_batches, ")` must be a positive integer");
  FULGUR_CHECK(o.max_steps >= -1, "Trainer", "`max_steps` must be -1 (no limit) or >= 0, got ", o.max_steps);
  FULGUR_CHECK(!o.max_epochs || *o.max_epochs >= -1, "Trainer", "`max_epochs` must be -1 or >= 0, got ",
               *o.max_epochs);
  FULGUR_CHECK(*o.num_sanity_val_steps >= -1, "Trainer", "`num_sanity_val_steps` must be -1 or >= 0, got ",
               *o.num_sanity_val_steps);
  FULGUR_CHECK(o.reload_dataloaders_every_n_epochs >= 0, "Trainer",
               "`reload_dataloaders_every_n_epochs` should be an int >= 0, got ", o.reload_dataloaders_every_n_epochs,
               ".");
  FULGUR_CHECK(*o.log_every_n_steps >= 0, "Trainer", "`log_every_n_steps` must be >= 0 (0: never), got ",
               *o.log_every_n_steps);
  FULGUR_CHECK(!o.check_val_every_n_epoch || *o.check_val_every_n_epoch > 0, "Trainer",
               "`check_val_every_n_epoch` should be an integer > 0 or None, got ", *o.check_val_every_n_epoch);
  FULGUR_CHECK(!o.gradient_clip_algorithm || *o.gradient_clip_algorithm == "norm" ||
                   *o.gradient_clip_algorithm == "value",
               "Trainer", "`gradient_clip_algorithm` ", *o.gradient_clip_algorithm,
               " is invalid. Allowed algorithms: ['value', 'norm']");
  FULGUR_CHECK(!o.gradient_clip_val || *o.gradient_clip_val >= 0, "Trainer",
               "`gradient_clip_val` must be >= 0, got ", *o.gradient_clip_val);
  check_limit(o.limit_train_batches, "limit_train_batches");
  check_limit(o.limit_val_batches, "limit_val_batches");
  check_limit(o.limit_test_batches, "limit_test_batches");
  check_limit(o.limit_predict_batches, "limit_predict_batches");
  if (o.val_check_interval.is_count()) {
    FULGUR_CHECK(o.val_check_interval.count() >= 1, "Trainer", "`val_check_interval` must be >= 1 batch, got ",
                 o.val_check_interval.count());
  } else {
    FULGUR_CHECK(o.val_check_interval.fraction() > 0 && o.val_check_interval.fraction() <= 1, "Trainer",
                 "`val_check_interval` should be in (0.0, 1.0] but got ", o.val_check_interval.fraction());
  }
  root_dir_ = o.default_root_dir.empty() ? std::filesystem::current_path().string() : o.default_root_dir;
  // Lightning's logger connector: fast_dev_run logs nowhere; true means the default logger.
  if (options_.fast_dev_run == 0) {
    loggers_ = o.logger.loggers();
    if (o.logger.use_default()) {
      if (auto logger = detail::default_logger(root_dir_)) loggers_ = {std::move(logger)};
    }
  }
  // Lightning's _configure_checkpoint_callbacks: a default ModelCheckpoint unless the user gave
  // a Checkpoint (ModelCheckpoint, OnExceptionCheckpoint), which enable_checkpointing=false
  // forbids. Under fast_dev_run it exists but saves nothing.
  bool has_checkpoint = false;
  for (const auto& c : o.callbacks) has_checkpoint = has_checkpoint || dynamic_cast<callbacks::Checkpoint*>(c.get());
  if (has_checkpoint) {
    FULGUR_CHECK(*o.enable_checkpointing, "Trainer", "Trainer was configured with `enable_checkpointing=False` but "
                 "found `ModelCheckpoint` in callbacks list.");
  } else if (*o.enable_checkpointing) {
    options_.callbacks.push_back(std::make_shared<callbacks::ModelCheckpoint>());
  }
  accumulate_grad_batches_ = o.accumulate_grad_batches;
  // Lightning's _configure_timer_callback: max_time adds a step-interval Timer, unless the
  // callbacks already have one (which wins).
  if (o.max_time) {
    bool has_timer = false;
    for (const auto& c : o.callbacks) has_timer = has_timer || dynamic_cast<const callbacks::Timer*>(c.get());
    if (has_timer) {
      rank_zero_printf("Ignoring `Trainer(max_time=...)`, callbacks list already contains a Timer.\n");
    } else {
      options_.callbacks.push_back(
          std::make_shared<callbacks::Timer>(callbacks::TimerOptions{.duration = o.max_time, .interval = "step"}));
    }
  }
  // Lightning's _configure_progress_bar, then _configure_model_summary_callback: the defaults
  // come after the user's callbacks (setup_callbacks moves checkpoint callbacks last).
  size_t progress_bars = 0;
  bool has_model_summary = false;
  for (const auto& c : o.callbacks) {
    progress_bars += dynamic_cast<const callbacks::ProgressBar*>(c.get()) != nullptr ? 1 : 0;
    has_model_summary = has_model_summary || dynamic_cast<const callbacks::ModelSummary*>(c.get()) != nullptr;
  }
  FULGUR_CHECK(progress_bars <= 1, "Trainer", "You added multiple progress bar callbacks to the Trainer, but "
               "currently only one progress bar is supported.");
  FULGUR_CHECK(progress_bars == 0 || *o.enable_progress_bar, "Trainer",
               "Trainer was configured with `enable_progress_bar=False` but found `ProgressBar` in callbacks list.");
  if (progress_bars == 0 && *o.enable_progress_bar) {
    options_.callbacks.push_back(std::make_shared<callbacks::ProgressBar>());
  }
  if (*o.enable_model_summary && !has_model_summary) {
    options_.callbacks.push_back(std::make_shared<callbacks::ModelSummary>());
  }
}

void Trainer::accumulate_grad_batches(int64_t n) {
  FULGUR_CHECK(n >= 1, "Trainer", "`accumulate_grad_batches` must be a positive integer, got ", n);
  accumulate_grad_batches_ = n;
}

namespace {
template <typename T>
std::vector<T*> callbacks_of_type(const std::vector<std::shared_ptr<Callback>>& all) {
  std::vector<T*> out;
  for (const auto& c : all) {
    if (auto* t = dynamic_cast<T*>(c.get())) out.push_back(t);
  }
  return out;
}
}  // namespace

// Before the first run the callbacks are the options' ones (Lightning's trainer.callbacks
// exist from __init__).
std::vector<callbacks::ModelCheckpoint*> Trainer::checkpoint_callbacks() const {
  return callbacks_of_type<callbacks::ModelCheckpoint>(state_.fn.empty() ? options_.callbacks : callbacks_);
}
callbacks::ModelCheckpoint* Trainer::checkpoint_callback() const {
  const auto all = checkpoint_callbacks();
  return all.empty() ? nullptr : all[0];
}
std::vector<callbacks::EarlyStopping*> Trainer::early_stopping_callbacks() const {
  return callbacks_of_type<callbacks::EarlyStopping>(state_.fn.empty() ? options_.callbacks : callbacks_);
}
callbacks::EarlyStopping* Trainer::early_stopping_callback() const {
  const auto all = early_stopping_callbacks();
  return all.empty() ? nullptr : all[0];
}

std::string Trainer::log_dir() const {
  if (loggers_.empty()) return root_dir_;
  return loggers_[0]->log_dir().value_or("");
}

int64_t Trainer::max_epochs() const {
  return options_.max_epochs.value_or(options_.max_steps == -1 ? 1000 : -1);
}

LightningModule& Trainer::lightning_module() const {
  FULGUR_CHECK(model_ != nullptr, "Trainer.lightning_module",
               "no module is attached (outside fit/validate/test/predict)");
  return *model_;
}

void Trainer::begin_run(LightningModule& model, LightningDataModule* dm, const std::string& fn) {
  model_ = &model;
  datamodule_ = dm;
  model.trainer_ = this;
  state_ = TrainerState{fn, "running", ""};
  should_stop_ = false;
  callbacks_ = options_.callbacks;
  train_results_ = std::make_unique<detail::ResultCollection>(true);
  eval_results_ = std::make_unique<detail::ResultCollection>(false);
  if (world_size() > 1) {
    auto sync = [this](const std::vector<detail::SyncItem>& items) { return sync_logged(items); };
    train_results_->set_sync(sync);
    eval_results_->set_sync(sync);
  }
  results_ = nullptr;
  current_fx_.clear();
  train_loaders_given_ = val_loaders_given_ = false;
  train_loaders_epoch_ = val_loaders_epoch_ = -1;
  // Lightning runs each entry point under torch.autograd.set_detect_anomaly(detect_anomaly).
  anomaly_before_ = autograd::is_anomaly_enabled();
  autograd::set_detect_anomaly(options_.detect_anomaly);
  if (options_.barebones) {
    // (No progress bar can make it look like the Trainer hung.)
    rank_zero_printf("`Trainer(barebones=True)` started running. The progress bar is disabled so you might want to "
                     "manually print the progress in your model.\n");
  }
  if (profiling_) {
    model_class_ = python_class_name(typeid(model));
    datamodule_class_ = dm != nullptr ? python_class_name(typeid(*dm)) : "";
    strategy_class_ = python_class_name(typeid(*strategy_));
    // Lightning's __setup_profiler: the local rank only in a job of several processes.
    profiler_->setup(fn, world_size() > 1 ? std::optional<int64_t>(local_rank()) : std::nullopt, log_dir());
  }
}

profilers::ProfileScope Trainer::profile_callback(const Callback& c) {
  return profiler_->profile("[Callback]" + c.state_key() + "." + current_fx_);
}

profilers::ProfileScope Trainer::profile_hook(const char* kind, const std::string& owner) {
  return profiler_->profile(kind + owner + "." + current_fx_);
}

void Trainer::end_run() {
  if (strategy_set_up_) strategy_->teardown();
  strategy_set_up_ = false;
  autograd::set_detect_anomaly(anomaly_before_);
  if (model_ != nullptr) model_->trainer_ = nullptr;
  // Loaders given as lvalues are borrowed: hold none past the call.
  train_loaders_ = {};
  train_loaders_by_user_order_.clear();
  val_loaders_ = {};
  val_loaders_ready_ = false;
  results_ = nullptr;
  current_fx_.clear();
}

// Called inside a catch block: the failure path of every entry point (rethrows).
void Trainer::fail_run(const std::exception& e) {
  // Lightning 2.x's _call_and_handle_interrupt/_interrupt: status "interrupted", on_exception
  // (callbacks, then the module (a Fulgur addition), then the datamodule), loggers finalized
  // "failed", the Trainer's own teardown (no teardown hooks), stage reset, the error rethrown.
  const std::string fx = current_fx_;
  const bool keyboard_interrupt = dynamic_cast<const KeyboardInterrupt*>(&e) != nullptr;
  if (keyboard_interrupt) rank_zero_printf("\nDetected KeyboardInterrupt, attempting graceful shutdown ...\n");
  state_.status = "interrupted";
  // An error inside these is dropped: the original error is the one to report. The profiler
  // times the callbacks' and the datamodule's (as Lightning's _call_*_hook do).
  set_fx("on_exception");
  for (const auto& c : callbacks_) {
    try {
      const profilers::ProfileScope scope = profiling_ ? profile_callback(*c) : profilers::ProfileScope();
      c->on_exception(*this, *model_, e);
    } catch (...) {
    }
  }
  try {
    model_->on_exception(e);
  } catch (...) {
  }
  if (datamodule_ != nullptr) {
    try {
      datamodule_do([&] { datamodule_->on_exception(e); });
    } catch (...) {
    }
  }
  try {
    finalize_loggers("failed");
  } catch (...) {
  }
  state_.stage.clear();
  if (strategy_->abort_on_exception() && !keyboard_interrupt) {
    // The other ranks may be waiting in a collective this rank will never join: end the job
    // (before teardown, which could wait for this rank's own collectives in flight).
    strategy_->abort(1, "rank " + std::to_string(global_rank()) + " of " + std::to_string(world_size()) + ": " +
                            e.what() + (fx.empty() ? std::string() : " [raised in `" + fx + "`]"));
  }
  end_run();
  if (keyboard_interrupt) throw;
  failed_hook_ = fx;
  if (dynamic_cast<const Error*>(&e) != nullptr && !fx.empty()) {
    throw Error(std::string(e.what()) + " [raised in `" + fx + "`]");
  }
  // Other types reach the caller unchanged (catch clauses for them keep working); the hook is
  // in failed_hook() and on stderr.
  if (!fx.empty()) std::fprintf(stderr, "fulgur: the exception \"%s\" was raised in `%s`\n", e.what(), fx.c_str());
  throw;
}

void Trainer::run_guarded(const std::function<void()>& body) {
  // Ctrl+C: stop after the current batch (check_interrupt), a second one terminates at once.
  const detail::SigintGuard sigint_guard;
  failed_hook_.clear();
  try {
    body();
    check_interrupt();  // a SIGINT after the last batch still ends the run as interrupted
    finalize_loggers("success");
    profiler_->describe();  // Lightning's _call_teardown_hook ends with it (not after a failure)
    state_.status = "finished";
    state_.stage.clear();
  } catch (const std::exception& e) {
    fail_run(e);
  }
  end_run();
}

void Trainer::check_interrupt() const {
  // Several processes stop together: a Ctrl+C seen by any rank stops every rank after the
  // same batch (mpirun forwards SIGINT to all, but they may see it one batch apart).
  const bool pending = detail::sigint_pending();
  if (world_size() > 1 ? strategy_->reduce_boolean_decision(pending, false) : pending) throw KeyboardInterrupt();
}

void Trainer::setup_callbacks() {
  set_fx("configure_callbacks");
  for (auto& c : module_do([&] { return model_->configure_callbacks(); })) {
    // Lightning: a callback of the same type from configure_callbacks replaces the Trainer's.
    bool replaced = false;
    for (auto& existing : callbacks_) {
      if (typeid(*existing) == typeid(*c)) {
        existing = c;
        replaced = true;
      }
    }
    if (!replaced) callbacks_.push_back(c);
  }
  // Lightning's _reorder_callbacks: checkpoint callbacks last (so they save what the others
  // did at the same hook), each group in its order.
  std::stable_partition(callbacks_.begin(), callbacks_.end(), [](const std::shared_ptr<Callback>& c) {
    return dynamic_cast<callbacks::Checkpoint*>(c.get()) == nullptr;
  });
  set_fx("prepare_data");
  // Lightning's _DataConnector.prepare_data: once per node (local rank 0; the hook downloads
  // and writes files), then everyone waits for it.
  if (local_rank() == 0) {
    if (datamodule_ != nullptr) datamodule_do([&] { datamodule_->prepare_data(); });
    module_do([&] { model_->prepare_data(); });
  }
  if (world_size() > 1) strategy_->barrier("prepare_data");
}

void Trainer::call_setup(const std::string& stage) {
  set_fx("setup");
  // Lightning's _call_setup_hook: the loggers' lazy experiments are made before the hooks.
  for (const auto& logger : loggers_) logger->create_experiment();
  if (datamodule_ != nullptr) datamodule_do([&] { datamodule_->setup(stage); });
  callbacks_do([&](Callback& c) { c.setup(*this, *model_, stage); });
  module_do([&] { model_->setup(stage); });
}

void Trainer::call_configure_model() {
  set_fx("configure_model");
  // Not timed: Lightning calls (and times) configure_model only when it is overridden, which
  // C++ cannot tell.
  model_->configure_model();
  // The precision plugin's convert_module ("64-true"/"bf16-true": the module in that dtype;
  // batches follow in transfer).
  precision_plugin_->convert_module(*model_);
  // Lightning's strategy.setup after configure_model: the accelerator, then the module on its device.
  strategy_->setup(*model_);
  strategy_set_up_ = true;
}

void Trainer::call_teardown(const std::string& stage) {
  set_fx("teardown");
  if (datamodule_ != nullptr) datamodule_do([&] { datamodule_->teardown(stage); });
  callbacks_do([&](Callback& c) { c.teardown(*this, *model_, stage); });
  module_do([&] { model_->teardown(stage); });
  set_fx("");
}

// Lightning's __verify_manual_optimization_support (in _verify_loop_configurations, before the
// setup hooks): the loop clips and accumulates only in automatic optimization, so asking for
// either in manual optimization is an error.
void Trainer::verify_manual_optimization_support() const {
  const std::optional<double> clip = options_.gradient_clip_val;
  FULGUR_CHECK(model_->automatic_optimization() || !clip || *clip <= 0, "Trainer.fit",
               "Automatic gradient clipping is not supported for manual optimization. Remove "
               "`Trainer(gradient_clip_val=", clip ? float_repr(*clip) : "None",
               ")` or switch to automatic optimization; hint: call `clip_gradients(optimizer, ...)` in "
               "`training_step` before `opt.step()`");
  FULGUR_CHECK(model_->automatic_optimization() || accumulate_grad_batches_ == 1, "Trainer.fit",
               "Automatic gradient accumulation is not supported for manual optimization. Remove "
               "`Trainer(accumulate_grad_batches=", accumulate_grad_batches_,
               ")` or switch to automatic optimization");
}

void Trainer::configure_optimizers() {
  set_fx("configure_optimizers");
  OptimizerConfig config = module_do([&] { return model_->configure_optimizers(); });
  config.validate();
  optimizers_ = config.optimizers();
  schedulers_ = config.lr_schedulers();
  if (optimizers_.empty()) {
    rank_zero_printf("warning: `LightningModule.configure_optimizers` returned `None`, this fit will run with no "
                     "optimizer\n");
  }
  FULGUR_CHECK(!model_->automatic_optimization() || optimizers_.size() <= 1, "configure_optimizers",
               "Training with multiple optimizers is only supported with manual optimization. Remove the extra "
               "optimizers or call `automatic_optimization(false)` and step them in `training_step`");
}

Loaders Trainer::request_loaders(const std::string& which, bool required) {
  const std::string hook = which + "_dataloader";
  set_fx(hook);
  if (which == "train") train_loaders_epoch_ = current_epoch_;
  if (which == "val") val_loaders_epoch_ = current_epoch_;
  try {
    if (datamodule_ != nullptr) {
      return datamodule_do([&] {
        if (which == "train") return datamodule_->train_dataloader();
        if (which == "val") return datamodule_->val_dataloader();
        if (which == "test") return datamodule_->test_dataloader();
        return datamodule_->predict_dataloader();
      });
    }
    return module_do([&] {
      if (which == "train") return model_->train_dataloader();
      if (which == "val") return model_->val_dataloader();
      if (which == "test") return model_->test_dataloader();
      return model_->predict_dataloader();
    });
  } catch (const detail::HookNotOverridden&) {
    FULGUR_CHECK(!required, hook.c_str(), "`", hook, "` must be implemented to be used with the Lightning Trainer; "
                 "hint: pass the dataloaders to the Trainer call, or override ", hook, "() in your module or "
                 "datamodule");
    return {};
  } catch (const Error& e) {
    // The datamodule's default raises this message; an optional loader just goes missing.
    if (!required && detail::is_not_implemented(e)) {
      return {};
    }
    throw;
  }
}

Batch Trainer::transfer(const Value& raw, int64_t dataloader_idx) {
  const std::string fx = current_fx_;
  set_fx("on_before_batch_transfer");
  Batch b = module_do([&] { return model_->on_before_batch_transfer(Batch(raw), dataloader_idx); });
  {
    // Lightning's strategy.batch_to_device calls the module's two transfer hooks; here the
    // strategy calls only transfer_batch_to_device, which both actions time.
    const profilers::ProfileScope scope = profile_strategy_hook("batch_to_device");
    set_fx("transfer_batch_to_device");
    b = module_do([&] { return strategy_->batch_to_device(*model_, std::move(b), dataloader_idx); });
    set_fx("on_after_batch_transfer");
    b = module_do([&] { return model_->on_after_batch_transfer(std::move(b), dataloader_idx); });
  }
  set_fx(fx);
  b = Batch(precision_plugin_->convert_input(b.value()));
  return b;
}

void Trainer::module_log(const std::string& name, const LogValue& value, const LogOptions& options) {
  if (options_.barebones) {
    if (!barebones_log_warned_) {
      rank_zero_printf("warning: You are trying to `self.log()` but `Trainer(barebones=True)` is configured. Logging "
                       "can impact raw speed so it is disabled under this setting.\n");
    }
    barebones_log_warned_ = true;
    return;
  }
  const std::string& fx = current_fx_;
  const std::optional<detail::FxLogRules> rules = detail::fx_log_rules(fx);
  FULGUR_CHECK(rules.has_value() && results_ != nullptr, "log", "You can't `self.log(\"", name, "\")` inside `",
               fx.empty() ? std::string("this hook") : fx, "`; hint: log from the step hooks or the *_epoch_* hooks");
  const bool on_step = options.on_step.value_or(rules->default_on_step);
  const bool on_epoch = options.on_epoch.value_or(rules->default_on_epoch);
  FULGUR_CHECK(!on_step || rules->step_allowed, "log", "You can't `self.log(\"", name, "\", on_step=True)` inside `",
               fx, "`, use one of: on_step=False");
  FULGUR_CHECK(!on_epoch || rules->epoch_allowed, "log", "You can't `self.log(\"", name, "\", on_epoch=True)` inside `",
               fx, "`, use one of: on_epoch=False");
  const std::string& r = options.reduce_fx;
  FULGUR_CHECK(r == "mean" || r == "sum" || r == "max" || r == "min", "log", "reduce_fx=\"", r, "\" for \"", name,
               "\" is not supported; use \"mean\", \"sum\", \"max\" or \"min\"");
  FULGUR_CHECK(name.find("/dataloader_idx_") == std::string::npos, "log", "You called `self.log(\"", name,
               "\")` but the name contains `/dataloader_idx_`, which Lightning adds itself; hint: choose another name");
  std::string key = name;
  if (num_current_loaders_ > 1 && options.add_dataloader_idx && !training()) {
    key += "/dataloader_idx_" + std::to_string(current_dataloader_idx_);
  }
  // Metric objects sync their states across processes in compute() (torchmetrics does so
  // whenever torch.distributed is initialised).
  if (value.is_metric() && value.metric()->reducer() == nullptr) {
    if (auto reducer = strategy_->metrics_reducer()) value.metric()->set_reducer(std::move(reducer));
  }
  results_->log(fx, key, value, options, on_step, on_epoch, options.batch_size.value_or(current_batch_size_));
}

void Trainer::publish(detail::MetricViews views, bool to_logger) {
  for (auto& [k, v] : views.callback) callback_metrics_[k] = v;
  for (auto& [k, v] : views.pbar) progress_bar_metrics_[k] = v;
  if (to_logger) {
    for (auto& [k, v] : views.log) logged_metrics_[k] = v;
    send_to_loggers(views.log);
  }
}

// Lightning's _LoggerConnector.log_metrics: a logged "step" metric is the step (and is not
// sent); otherwise "epoch" is added and the step is the fit loop's _batches_that_stepped.
// Each logger saves after each call. During fit Lightning logs before counting the current
// batch (step metrics, validation in the batch's on_advance_end, and the epoch end, where it
// steps back by one), while batches_that_stepped_ here already counts it: hence the -1.
void Trainer::send_to_loggers(const std::map<std::string, double>& metrics) {
  if (loggers_.empty() || metrics.empty() || !is_global_zero()) return;
  std::map<std::string, double> scalars = metrics;
  int64_t step = state_.fn == "fit" ? std::max<int64_t>(batches_that_stepped_ - 1, 0) : batches_that_stepped_;
  if (auto it = scalars.find("step"); it != scalars.end()) {
    step = static_cast<int64_t>(it->second);
    scalars.erase(it);
  } else {
    scalars.emplace("epoch", static_cast<double>(current_epoch_));
  }
  for (const auto& logger : loggers_) {
    logger->log_metrics(scalars, step);
    logger->save();
  }
}

// Lightning's _log_hyperparams: the module's saved hyperparameters (an empty dict when
// save_hyperparameters() was not called), once per run before the loops.
namespace {

// Lightning's merge check: the same type and value; tensors are the same only as the same object
// (Python's id), and a comparison that cannot decide (tensors inside lists) counts as different.
bool same_hparam(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  if (a.is_tensor()) return a.as_tensor().is_same(b.as_tensor());
  try {
    return a == b;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

void Trainer::log_hyperparams() {
  // Lightning's loggers are rank_zero_only: the other ranks log nothing.
  if (loggers_.empty() || !is_global_zero()) return;
  Value params = model_->hyperparameters_saved() ? model_->hparams().to_value() : Value::dict();
  if (datamodule_ != nullptr && datamodule_->hyperparameters_saved()) {
    // Lightning's _log_hyperparams: the module's and the datamodule's, merged; a key in both
    // with different values (or types: 1 and 1.0) is an error.
    std::string inconsistent;
    for (const Value::Item& item : datamodule_->hparams().to_value().items()) {
      const Value* mine = params.find(item.first);
      if (mine != nullptr && !same_hparam(*mine, item.second)) {
        inconsistent += (inconsistent.empty() ? "" : ", ") + item.first.repr();
      }
      params.set(item.first, item.second);
    }
    FULGUR_CHECK(inconsistent.empty(), "Trainer", "Error while merging hparams: the keys [", inconsistent,
                 "] are present in both the LightningModule's and LightningDataModule's hparams but have different "
                 "values.");
  }
  for (const auto& logger : loggers_) {
    logger->log_hyperparams(params);
    logger->save();
  }
}

void Trainer::finalize_loggers(const std::string& status) {
  if (!is_global_zero()) return;
  for (const auto& logger : loggers_) logger->finalize(status);
}

void Trainer::fit(LightningModule& model, Loaders train_dataloaders, Loaders val_dataloaders, FitOptions options) {
  begin_run(model, nullptr, "fit");
  train_loaders_ = std::move(train_dataloaders);
  val_loaders_ = std::move(val_dataloaders);
  val_loaders_ready_ = !val_loaders_.empty();
  train_loaders_given_ = !train_loaders_.empty();
  val_loaders_given_ = !val_loaders_.empty();
  run_guarded([&] {
    run_fit(options.ckpt_path);
  });
}

void Trainer::fit(LightningModule& model, LightningDataModule& datamodule, FitOptions options) {
  begin_run(model, &datamodule, "fit");
  train_loaders_ = {};
  val_loaders_ = {};
  val_loaders_ready_ = false;
  run_guarded([&] {
    run_fit(options.ckpt_path);
  });
}

}  // namespace fulgur::lightning
