// L::Trainer: runs a LightningModule's loops (lightning.pytorch.Trainer), with Lightning's
// option names, defaults and hook order (docs/TRAINER.md lists both, and what differs).
//
//   L::Trainer trainer({.max_epochs = 10, .limit_val_batches = 0.5});
//   trainer.fit(model, train_dl, val_dl);        // or trainer.fit(model, datamodule)
//   auto results = trainer.test(model, test_dl); // one map of metrics per test loader
//   std::vector<Tensor> preds = trainer.predict(model, predict_dl);
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fulgur/data/distributed_sampler.h"
#include "fulgur/trainer/accelerator_connector.h"
#include "fulgur/trainer/callback.h"
#include "fulgur/trainer/callbacks/early_stopping.h"
#include "fulgur/trainer/callbacks/model_checkpoint.h"
#include "fulgur/trainer/callbacks/timer.h"
#include "fulgur/trainer/datamodule.h"
#include "fulgur/trainer/interrupt.h"
#include "fulgur/trainer/lightning_module.h"
#include "fulgur/trainer/loaders.h"
#include "fulgur/trainer/logger.h"
#include "fulgur/trainer/precision.h"
#include "fulgur/trainer/profilers/profiler.h"
#include "fulgur/trainer/result_collection.h"

namespace fulgur::lightning {

// limit_*_batches, val_check_interval: an integer is a count of batches, a floating value a
// fraction of the loader (Lightning's int/float distinction).
class BatchLimit {
 public:
  template <std::integral T>
  BatchLimit(T n) : is_count_(true), count_(static_cast<int64_t>(n)) {}  // NOLINT
  template <std::floating_point T>
  BatchLimit(T f) : fraction_(static_cast<double>(f)) {}  // NOLINT
  bool is_count() const { return is_count_; }
  int64_t count() const { return count_; }
  double fraction() const { return fraction_; }
  // The number of batches of a loader of `n` batches this limit lets through.
  int64_t apply(int64_t n, const char* option) const;

 private:
  bool is_count_ = false;
  int64_t count_ = 0;
  double fraction_ = 1.0;
};

// Trainer(profiler=...): none (Lightning's PassThroughProfiler), "simple" (a SimpleProfiler that
// prints its report), or a Profiler (L::profilers::SimpleProfiler({.filename = "perf"})).
class ProfilerOption {
 public:
  ProfilerOption() = default;
  ProfilerOption(const char* name) : name_(name) {}       // NOLINT
  ProfilerOption(std::string name) : name_(std::move(name)) {}  // NOLINT
  template <std::derived_from<profilers::Profiler> T>
  ProfilerOption(std::shared_ptr<T> profiler) : profiler_(std::move(profiler)) {}  // NOLINT
  template <std::derived_from<profilers::Profiler> T>
  ProfilerOption(T profiler) : profiler_(std::make_shared<T>(std::move(profiler))) {}  // NOLINT
  bool is_none() const { return name_.empty() && profiler_ == nullptr; }
  // The name given, or the profiler object's class name.
  std::string name() const;
  // The profiler to use (a PassThroughProfiler for none); unknown names are errors.
  std::shared_ptr<profilers::Profiler> make() const;

 private:
  std::string name_;
  std::shared_ptr<profilers::Profiler> profiler_;
};

// Trainer(logger=...): unset (Lightning's None: true, or false under barebones), true (a
// TensorBoardLogger in default_root_dir), false (none), one logger, or several.
class LoggerOption {
 public:
  LoggerOption() = default;
  LoggerOption(bool enabled) : given_(true), default_(enabled) {}  // NOLINT
  template <std::derived_from<Logger> T>
  LoggerOption(std::shared_ptr<T> logger) : given_(true), loggers_{std::move(logger)} {}  // NOLINT
  // api.md's `{.logger = L::loggers::CSVLogger("logs")}`: the Trainer keeps a copy.
  template <std::derived_from<Logger> T>
  LoggerOption(T logger) : given_(true), loggers_{std::make_shared<T>(std::move(logger))} {}  // NOLINT
  LoggerOption(std::vector<std::shared_ptr<Logger>> loggers)  // NOLINT
      : given_(true), list_(true), loggers_(std::move(loggers)) {}
  bool given() const { return given_; }
  // Whether logging is asked for: true or a logger (unset counts as no; the Trainer resolves it).
  bool enabled() const { return default_ || !loggers_.empty(); }
  bool use_default() const { return default_; }
  bool is_list() const { return list_; }  // a vector of loggers (possibly empty)
  const std::vector<std::shared_ptr<Logger>>& loggers() const { return loggers_; }

 private:
  bool given_ = false;
  bool list_ = false;
  bool default_ = false;
  std::vector<std::shared_ptr<Logger>> loggers_;
};

// Lightning's Trainer arguments with its names and defaults. Designated initializers must
// follow the declaration order: Lightning's, except that callbacks and max_epochs come before
// the hardware options, so that api.md's `{.max_epochs = 10, .accelerator = "auto",
// .devices = "auto"}` reads as written.
struct TrainerOptions {
  std::vector<std::shared_ptr<Callback>> callbacks = {};
  // N > 0 (true = 1): N batches of each loop, one epoch, max_steps N, no sanity check
  // (Lightning's debugging run; checkpointing and logging are suppressed there too).
  int64_t fast_dev_run = 0;
  // Unset: 1000 when max_steps is -1, else unlimited (-1), as in Lightning.
  std::optional<int64_t> max_epochs = std::nullopt;
  // Resolved by the accelerator connector (accelerator_connector.h, docs/TRAINER.md "Strategy
  // and accelerator"): "auto" is a GPU when there is one, else the CPU; "gpu"/"cuda" need a
  // GPU or the emulated CUDA device.
  std::string accelerator = "auto";  // "auto", "cpu", "gpu"/"cuda"
  StrategyOption strategy = "auto";  // "auto", "single_device" or a Strategy object
  // Lightning's forms as a string: "auto", "1", "-1", "0,1", "[0, 1]" (several: strategy "ddp"
  // in a process per device, started by mpirun/srun; docs/DISTRIBUTED.md).
  std::string devices = "auto";
  int64_t num_nodes = 1;
  // "32-true", "64-true", "bf16-mixed", "bf16-true", "16-mixed", "16-true" and Lightning's
  // aliases (trainer/precision.h).
  std::string precision = "32-true";
  LoggerOption logger = {};  // unset: true (a TensorBoardLogger), false under barebones
  std::optional<int64_t> min_epochs = std::nullopt;
  int64_t max_steps = -1;
  std::optional<int64_t> min_steps = std::nullopt;
  // Stop after this much training time: seconds, "DD:HH:MM:SS" or a TimeDelta (Lightning adds
  // a Timer(duration=max_time, interval="step") callback unless the callbacks have a Timer).
  std::optional<callbacks::TimerDuration> max_time = std::nullopt;
  BatchLimit limit_train_batches = 1.0;
  BatchLimit limit_val_batches = 1.0;
  BatchLimit limit_test_batches = 1.0;
  BatchLimit limit_predict_batches = 1.0;
  // > 0: train and validate on this many batches (or this fraction) of the loaders every epoch,
  // with the train loader's shuffling turned off (Lightning's debugging aid).
  BatchLimit overfit_batches = 0.0;
  BatchLimit val_check_interval = 1.0;
  // nullopt: validate every val_check_interval batches counted over all epochs.
  std::optional<int64_t> check_val_every_n_epoch = 1;
  // The opt-outs below are unset by default, as Lightning's None: the Trainer makes them 2, 50,
  // true, true, true (barebones: 0, 0, false, false, false) and options() shows the result.
  std::optional<int64_t> num_sanity_val_steps = std::nullopt;  // -1: the whole val loaders
  std::optional<int64_t> log_every_n_steps = std::nullopt;     // 0: never log
  std::optional<bool> enable_checkpointing = std::nullopt;  // a default ModelCheckpoint when the callbacks have none
  std::optional<bool> enable_progress_bar = std::nullopt;
  std::optional<bool> enable_model_summary = std::nullopt;
  int64_t accumulate_grad_batches = 1;
  std::optional<double> gradient_clip_val = std::nullopt;
  std::optional<std::string> gradient_clip_algorithm = std::nullopt;  // "norm" (default) or "value"
  // true: fulgur::use_deterministic_algorithms(true) (tensor/algorithm_flags.h): cuDNN
  // convolutions pick deterministic algorithms; our own kernels always are. false leaves the
  // process-wide setting as it is (Lightning's default, None).
  bool deterministic = false;
  // cudnn.benchmark: time cuDNN's convolution algorithms once per problem. nullopt leaves the
  // setting as it is, or turns it off with deterministic=true (Lightning's rule).
  std::optional<bool> benchmark = std::nullopt;
  // Evaluation and prediction loops under InferenceMode (true) or NoGradGuard (false).
  bool inference_mode = true;
  // In a DDP run, each map-style loader reads its rank's share through a DistributedSampler
  // (shuffled like the loader, seeded by PL_GLOBAL_SEED; set_epoch every epoch).
  bool use_distributed_sampler = true;
  // Times every hook and loop step under Lightning's action names (trainer/profilers/).
  ProfilerOption profiler = {};
  // autograd's anomaly mode for the run (restored after): a NaN/Inf in backward names the op.
  bool detect_anomaly = false;
  // Lightning's barebones mode, for measuring the Trainer's own overhead: no checkpointing,
  // logger, progress bar, model summary, sanity check, self.log (a warning, then nothing);
  // asking for any of them, fast_dev_run, detect_anomaly or a profiler is an error.
  bool barebones = false;
  // N > 0: ask the *_dataloader hooks again every N epochs (loaders passed in are kept).
  int64_t reload_dataloaders_every_n_epochs = 0;
  std::string default_root_dir = "";  // "" : the current directory
};

// Lightning's TrainerFn / TrainerStatus / RunningStage, as their string values.
struct TrainerState {
  std::string fn;                      // "fit", "validate", "test", "predict" ("" before any)
  std::string status = "initializing";  // "running", "finished", "interrupted"
  std::string stage;                   // "train", "sanity_check", "validate", "test", "predict"
  bool finished() const { return status == "finished"; }
};

struct FitOptions {
  std::string ckpt_path = "";
};
// ckpt_path: "" (the module as given), "best" / "last" (the Trainer's ModelCheckpoint), or a
// file; validate/test/predict load the module's weights from it.
struct EvalOptions {
  std::string ckpt_path = "";
  bool verbose = true;  // print the results table
};
struct PredictOptions {
  std::string ckpt_path = "";
};

class Trainer {
 public:
  explicit Trainer(TrainerOptions options = {});
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Loaders left empty come from the module's *_dataloader hooks.
  void fit(LightningModule& model, Loaders train_dataloaders = {}, Loaders val_dataloaders = {},
           FitOptions options = {});
  void fit(LightningModule& model, LightningDataModule& datamodule, FitOptions options = {});
  std::vector<std::map<std::string, double>> validate(LightningModule& model, Loaders dataloaders = {},
                                                      EvalOptions options = {});
  std::vector<std::map<std::string, double>> validate(LightningModule& model, LightningDataModule& datamodule,
                                                      EvalOptions options = {});
  std::vector<std::map<std::string, double>> test(LightningModule& model, Loaders dataloaders = {},
                                                  EvalOptions options = {});
  std::vector<std::map<std::string, double>> test(LightningModule& model, LightningDataModule& datamodule,
                                                  EvalOptions options = {});
  // predict_step's outputs, batch by batch (all loaders in order).
  std::vector<Tensor> predict(LightningModule& model, Loaders dataloaders = {}, PredictOptions options = {});
  std::vector<Tensor> predict(LightningModule& model, LightningDataModule& datamodule, PredictOptions options = {});

  // Writes a checkpoint with Lightning's keys (docs/TRAINER.md) through fulgur::save, after
  // the on_save_checkpoint hooks (callbacks, then the module). weights_only leaves out the
  // optimizer, scheduler, loop and callback states. Needs a module attached (a run in progress
  // or a finished fit).
  // ---- host-driven fit (docs/TRAINER.md, "Host-driven training") ---------------------------
  // For programs whose own time loop must stay in charge (a simulation that trains a surrogate
  // every K steps): the same fit, cut where the host decides. Per call, the Trainer's usual
  // semantics: accumulation, clipping, LR schedulers, logging, callbacks (checkpoints, early
  // stopping: read should_stop()), DDP. An exception ends the run as fit() would (status
  // "interrupted", on_exception hooks) and is rethrown.
  //
  //   trainer.fit_begin(model, val_loader);
  //   while (simulating) { ...; loss = trainer.fit_step(batch); if (epoch_done) { trainer.fit_validate();
  //                        trainer.fit_epoch_end(); } if (trainer.should_stop()) break; }
  //   trainer.fit_end();
  //
  // fit_begin: fit's setup (callbacks, setup, configure_model, optimizers, ckpt_path restore,
  // on_fit_start, on_train_start); no sanity check and no automatic validation.
  void fit_begin(LightningModule& model, Loaders val_dataloaders = {}, FitOptions options = {});
  // One training batch (a raw batch, as a loader yields it: transfer hooks run); opens an epoch
  // (on_train_epoch_start) when none is open. Returns training_step's loss (NaN when it
  // returned none). max_steps reached sets should_stop().
  double fit_step(const Value& batch);
  // The validation loop now, over the loaders given to fit_begin (or val_dataloader()); its
  // callbacks run (ModelCheckpoint, EarlyStopping). Returns the callback metrics.
  std::map<std::string, double> fit_validate();
  // The same over these loaders (they replace the ones given before).
  std::map<std::string, double> fit_validate(Loaders val_dataloaders);
  // Closes the open epoch: epoch-interval schedulers, on_train_epoch_end (checkpoints), epoch
  // logging; current_epoch += 1. No-op when no epoch is open.
  void fit_epoch_end();
  // Closes the open epoch if any, then on_train_end, on_fit_end, teardown: status "finished".
  void fit_end();
  // Whether fit_begin ran and fit_end (or a failure) has not.
  bool fit_in_progress() const { return host_fit_; }

  void save_checkpoint(const std::string& path, bool weights_only = false);
  // The checkpoint save_checkpoint writes, as a Value.
  Value dump_checkpoint(bool weights_only = false);

  // ---- properties --------------------------------------------------------------------------
  const TrainerOptions& options() const { return options_; }
  int64_t current_epoch() const { return current_epoch_; }
  int64_t global_step() const { return global_step_; }
  const std::map<std::string, double>& callback_metrics() const { return callback_metrics_; }
  // Mutable, as Lightning's dict is (LearningRateMonitor adds the values it logs).
  std::map<std::string, double>& callback_metrics() { return callback_metrics_; }
  const std::map<std::string, double>& logged_metrics() const { return logged_metrics_; }
  const std::map<std::string, double>& progress_bar_metrics() const { return progress_bar_metrics_; }
  bool should_stop() const { return should_stop_; }
  void should_stop(bool stop) { should_stop_ = stop; }
  const TrainerState& state() const { return state_; }
  bool sanity_checking() const { return state_.stage == "sanity_check"; }
  bool training() const { return state_.stage == "train"; }
  // Lightning's trainer.interrupted: the last run ended by an exception or a SIGINT.
  bool interrupted() const { return state_.status == "interrupted"; }
  // The hook that was running when the last run's exception was raised ("" if none): a
  // fulgur::Error carries it in its message, other exception types reach the caller as they
  // were thrown (docs/TRAINER.md, "Deliberate differences").
  const std::string& failed_hook() const { return failed_hook_; }
  // Hardware (the accelerator connector's result) and the process ranks, from the strategy.
  Strategy& strategy() const { return *strategy_; }
  Accelerator& accelerator() const { return *accelerator_; }
  // Lightning's trainer.precision (the canonical flag: "bf16" reads "bf16-mixed") and
  // trainer.precision_plugin.
  std::string precision() const { return precision_plugin_->precision(); }
  Precision& precision_plugin() const { return *precision_plugin_; }
  const std::vector<int64_t>& device_ids() const { return device_ids_; }
  int64_t num_devices() const { return static_cast<int64_t>(device_ids_.size()); }
  int64_t num_nodes() const { return num_nodes_; }
  Device root_device() const { return strategy_->root_device(); }
  bool is_global_zero() const { return strategy_->is_global_zero(); }
  int64_t world_size() const { return strategy_->world_size(); }
  int64_t global_rank() const { return strategy_->global_rank(); }
  int64_t local_rank() const { return strategy_->local_rank(); }
  int64_t node_rank() const { return strategy_->node_rank(); }
  int64_t max_epochs() const;
  int64_t num_training_batches() const { return num_training_batches_; }
  // Optimizer steps the fit will take (Lightning's estimated_stepping_batches, e.g. for
  // OneCycleLR's total_steps in configure_optimizers): ceil(batches / accumulate) * max_epochs,
  // capped by max_steps; INT64_MAX for unlimited training. Asks for the train loader if the
  // fit has not yet.
  int64_t estimated_stepping_batches();
  const std::vector<int64_t>& num_val_batches() const { return num_val_batches_; }
  // Batches per test / predict loader of the current (or last) run, after the limits.
  const std::vector<int64_t>& num_test_batches() const { return num_test_batches_; }
  const std::vector<int64_t>& num_predict_batches() const { return num_predict_batches_; }
  // The accumulation factor in use: options().accumulate_grad_batches, changed per epoch by
  // GradientAccumulationScheduler (Lightning's settable trainer.accumulate_grad_batches).
  int64_t accumulate_grad_batches() const { return accumulate_grad_batches_; }
  void accumulate_grad_batches(int64_t n);
  // Batches that stepped the optimizer so far (Lightning's `_batches_that_stepped`): the step
  // loggers receive.
  int64_t batches_that_stepped() const { return batches_that_stepped_; }
  const std::string& default_root_dir() const { return root_dir_; }
  // The first logger (null without loggers) and all of them.
  Logger* logger() const { return loggers_.empty() ? nullptr : loggers_[0].get(); }
  const std::vector<std::shared_ptr<Logger>>& loggers() const { return loggers_; }
  void loggers(std::vector<std::shared_ptr<Logger>> loggers) { loggers_ = std::move(loggers); }
  // Lightning's Trainer.log_dir: the first logger's log_dir, else default_root_dir ("" when
  // the first logger has no local folder).
  std::string log_dir() const;
  // The callbacks of the current run: the options' ones plus configure_callbacks's.
  const std::vector<std::shared_ptr<Callback>>& callbacks() const { return callbacks_; }
  // The first ModelCheckpoint / EarlyStopping of the callbacks (null if none), and all of them
  // (before the first run: the options' callbacks, with the default ModelCheckpoint).
  callbacks::ModelCheckpoint* checkpoint_callback() const;
  std::vector<callbacks::ModelCheckpoint*> checkpoint_callbacks() const;
  callbacks::EarlyStopping* early_stopping_callback() const;
  std::vector<callbacks::EarlyStopping*> early_stopping_callbacks() const;
  // The checkpoint the last run loaded (ckpt_path resolved: "best"/"last" become a file), or "".
  const std::string& ckpt_path() const { return ckpt_path_; }
  const std::vector<std::shared_ptr<optim::Optimizer>>& optimizers() const { return optimizers_; }
  std::vector<LRSchedulerConfig>& lr_scheduler_configs() { return schedulers_; }
  LightningModule& lightning_module() const;
  // The profiler of options().profiler (a PassThroughProfiler when none was given).
  profilers::Profiler& profiler() const { return *profiler_; }

 private:
  friend class LightningModule;
  friend class LightningOptimizer;
  enum class Stage { Fit, Validate, Test, Predict };

  // Run scaffolding (trainer.cc).
  void begin_run(LightningModule& model, LightningDataModule* dm, const std::string& fn);
  void end_run();
  void run_guarded(const std::function<void()>& body);
  [[noreturn]] void fail_run(const std::exception& e);
  void setup_callbacks();
  void call_setup(const std::string& stage);
  void call_teardown(const std::string& stage);
  void call_configure_model();
  void verify_manual_optimization_support() const;
  void configure_optimizers();
  Loaders request_loaders(const std::string& which, bool required);
  Batch transfer(const Value& raw, int64_t dataloader_idx);
  // Lightning's _call_callback_hooks / _call_lightning_module_hook / _call_strategy_hook: the
  // hook named by set_fx, timed by the profiler as "[Callback]<state_key>.<hook>",
  // "[LightningModule]<class>.<hook>", "[Strategy]<class>.<hook>".
  // `monitoring` (Lightning's monitoring_callbacks): only the monitoring callbacks (true) or
  // only the others (false).
  template <typename F>
  void callbacks_do(F&& f, std::optional<bool> monitoring = std::nullopt) {
    for (const auto& c : callbacks_) {
      if (monitoring && c->is_monitoring() != *monitoring) continue;
      const profilers::ProfileScope scope = profiling_ ? profile_callback(*c) : profilers::ProfileScope();
      f(*c);
    }
  }
  // A default hook that says it is not implemented (the module's HookNotOverridden, the
  // datamodule's "must be implemented" error) is not timed: Lightning would not have called it.
  template <typename F>
  decltype(auto) module_do(F&& f) {
    return timed(profiling_ ? profile_hook("[LightningModule]", model_class_) : profilers::ProfileScope(), f);
  }
  template <typename F>
  decltype(auto) datamodule_do(F&& f) {
    return timed(profiling_ ? profile_hook("[LightningDataModule]", datamodule_class_) : profilers::ProfileScope(), f);
  }
  template <typename F>
  decltype(auto) strategy_do(const char* hook, F&& f) {
    return timed(profile_strategy_hook(hook), f);
  }
  template <typename F>
  static decltype(auto) timed(profilers::ProfileScope scope, F& f) {
    try {
      return f();
    } catch (const Error& e) {
      if (dynamic_cast<const detail::HookNotOverridden*>(&e) != nullptr || detail::is_not_implemented(e)) {
        scope.cancel();
      }
      throw;
    }
  }
  profilers::ProfileScope profile_strategy_hook(const char* hook) {
    return profiling_ ? profiler_->profile("[Strategy]" + strategy_class_ + "." + hook) : profilers::ProfileScope();
  }
  // A loop action ("run_training_batch"); empty when not profiling.
  profilers::ProfileScope profile(const char* action) {
    return profiling_ ? profiler_->profile(action) : profilers::ProfileScope();
  }
  profilers::ProfileScope profile_callback(const Callback& c);
  profilers::ProfileScope profile_hook(const char* kind, const std::string& owner);

  // Logging (trainer.cc).
  void module_log(const std::string& name, const LogValue& value, const LogOptions& options);
  void publish(detail::MetricViews views, bool to_logger);
  // trainer/log_sync.cc: the sync_dist reduction, after the ranks agreed on the keys.
  std::vector<double> sync_logged(const std::vector<detail::SyncItem>& items);
  void send_to_loggers(const std::map<std::string, double>& metrics);
  void log_hyperparams();
  void finalize_loggers(const std::string& status);
  void set_fx(const std::string& fx) { current_fx_ = fx; }
  // Throws L::KeyboardInterrupt once a SIGINT arrived (called after each batch).
  void check_interrupt() const;

  // Fit loop (fit_loop.cc).
  // fit's setup up to on_fit_start (callbacks, setup, configure_model, optimizers, ckpt_path
  // restore, hyperparameters logged); run_fit and fit_begin share it.
  void start_fit(const std::string& ckpt_path);
  void run_fit(const std::string& ckpt_path);
  void run_sanity_check();
  void run_train_loop();
  void start_train_epoch();   // on_train_epoch_start hooks, sampler epoch
  void run_train_epoch();
  void finish_train_epoch();  // on_train_epoch_end hooks, epoch logging, epoch schedulers, epoch += 1
  // window_done: the last batch stepped the optimizer (no accumulation window is open).
  void run_validation_in_fit(bool window_done = true);
  void ensure_val_loaders();
  Loaders overfit_loaders(Loaders loaders, const char* prefix) const;
  // trainer/distributed_loaders.cc: DistributedSampler in place of the default samplers (DDP).
  Loaders distributed_loaders(Loaders loaders, const std::string& which);
  void set_train_sampler_epoch();
  void run_train_batch(const Batch& batch, int64_t batch_idx);
  void run_automatic_batch(const Batch& batch, int64_t batch_idx, Value* outputs);
  void run_manual_batch(const Batch& batch, int64_t batch_idx, Value* outputs);
  void update_lr_schedulers(const std::string& interval, bool plateau, int64_t batch_idx);
  bool should_accumulate(int64_t batch_idx) const;
  bool should_check_val(int64_t batch_idx, bool is_last_batch) const;
  bool can_stop_early() const;
  bool fit_done() const;
  void count_optimizer_step() { ++global_step_; }

  // Checkpoints (checkpoint_connector.cc): restore_* follow Lightning's resume order.
  // Lightning's _select_ckpt_path/_parse_ckpt_path: "best"/"last" to a file ("" = none).
  std::string select_ckpt_path(const std::string& fn, const std::string& ckpt_path);
  // Loads the resolved ckpt_path_ (nothing when ""); eval runs restore the module only.
  Value resume_start();
  void restore_modules_and_callbacks(const Value& checkpoint);
  void restore_training_state(const Value& checkpoint);

  // Evaluation and prediction loops (evaluation_loop.cc).
  std::vector<std::map<std::string, double>> run_evaluation(Stage stage, bool in_fit);
  std::vector<std::map<std::string, double>> eval_entry(LightningModule& model, LightningDataModule* dm,
                                                        Loaders loaders, Stage stage, const EvalOptions& options);
  std::vector<Tensor> predict_entry(LightningModule& model, LightningDataModule* dm, Loaders loaders,
                                    const PredictOptions& options);
  void print_results(const std::string& stage, const std::vector<std::map<std::string, double>>& results) const;

  TrainerOptions options_;
  std::string root_dir_;
  TrainerState state_;
  LightningModule* model_ = nullptr;
  LightningDataModule* datamodule_ = nullptr;
  std::vector<std::shared_ptr<Callback>> callbacks_;
  std::string ckpt_path_;
  std::vector<std::shared_ptr<Logger>> loggers_;
  std::vector<std::shared_ptr<optim::Optimizer>> optimizers_;
  // The train loaders before CombinedLoader wraps them (set_train_sampler_epoch reaches their samplers).
  std::vector<std::shared_ptr<data::DataLoader>> train_loaders_by_user_order_;
  std::vector<LRSchedulerConfig> schedulers_;
  Loaders train_loaders_, val_loaders_, eval_loaders_;
  bool val_loaders_ready_ = false;
  bool has_validation_step_ = true;

  int64_t current_epoch_ = 0;
  int64_t global_step_ = 0;
  int64_t total_batch_idx_ = 0;      // training batches over all epochs
  int64_t batches_that_stepped_ = 0;  // for log_every_n_steps
  int64_t accumulate_grad_batches_ = 1;
  int64_t num_training_batches_ = 0;
  int64_t val_check_batch_ = 0;
  std::vector<int64_t> num_val_batches_;
  std::vector<int64_t> num_test_batches_, num_predict_batches_;
  bool should_stop_ = false;
  bool epoch_processed_ = false;     // the epoch's batches are done, its end hooks not yet
  int64_t epoch_batches_done_ = 0;   // batches completed in the current epoch
  int64_t resume_batch_idx_ = 0;     // first batch of the first epoch after a mid-epoch resume
  Value resume_loader_state_;        // the train loader's state at a mid-epoch save
  bool skip_rest_of_epoch_ = false;

  std::map<std::string, double> callback_metrics_, logged_metrics_, progress_bar_metrics_;
  std::unique_ptr<detail::ResultCollection> train_results_, eval_results_;
  detail::ResultCollection* results_ = nullptr;  // the loop logging now
  std::string current_fx_;
  std::string failed_hook_;
  std::shared_ptr<profilers::Profiler> profiler_;
  bool profiling_ = false;  // profiler_->enabled(): otherwise no action names are built
  bool barebones_log_warned_ = false;
  std::string model_class_, datamodule_class_, strategy_class_;  // in the profiler's action names
  std::shared_ptr<Accelerator> accelerator_;
  std::shared_ptr<Strategy> strategy_;
  std::unique_ptr<Precision> precision_plugin_;  // from options().precision (trainer/precision.h)
  std::vector<int64_t> device_ids_;
  int64_t num_nodes_ = 1;
  bool strategy_set_up_ = false;
  // Host-driven fit (trainer/host_loop.cc).
  bool host_fit_ = false;
  bool host_epoch_open_ = false;
  int64_t host_batch_idx_ = 0;
  Tensor last_loss_;  // training_step's loss of the last batch (detached)
  void host_guard(const char* op, const std::function<void()>& body);
  bool anomaly_before_ = false;  // autograd's anomaly mode before a detect_anomaly run
  // reload_dataloaders_every_n_epochs: loaders passed to fit are kept; the epoch of the last
  // request of each (Lightning's _last_train_dl_reload_epoch / _last_val_dl_reload_epoch).
  bool train_loaders_given_ = false, val_loaders_given_ = false;
  int64_t train_loaders_epoch_ = -1, val_loaders_epoch_ = -1;
  int64_t current_dataloader_idx_ = 0;
  int64_t num_current_loaders_ = 1;
  int64_t current_batch_size_ = 1;
};

}  // namespace fulgur::lightning
