// Trainer.fit: setup, the sanity check, the epoch and batch loops, automatic and manual
// optimization, gradient accumulation, LR schedulers; in Lightning 2.x's order
// (docs/TRAINER.md has the sequence).
#include <cstdio>
#include <limits>
#include <sstream>

#include "fulgur/autograd/autograd.h"
#include "fulgur/data/combined_loader.h"
#include "fulgur/kernels/error.h"
#include "fulgur/serialize/checkpoint.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

void Trainer::start_fit(const std::string& ckpt_path) {
  // Lightning resolves "best"/"last" before attaching the module's callbacks.
  ckpt_path_ = select_ckpt_path("fit", ckpt_path);
  setup_callbacks();
  verify_manual_optimization_support();
  call_setup("fit");
  const Value checkpoint = resume_start();
  if (!ckpt_path_.empty()) restore_modules_and_callbacks(checkpoint);
  call_configure_model();
  configure_optimizers();
  if (!ckpt_path_.empty()) {
    restore_training_state(checkpoint);
    rank_zero_printf("Restored all states from the checkpoint at %s\n", ckpt_path_.c_str());
  }
  set_fx("on_fit_start");
  callbacks_do([&](Callback& c) { c.on_fit_start(*this, *model_); });
  module_do([&] { model_->on_fit_start(); });
  log_hyperparams();
  model_->zero_grad();
}

void Trainer::run_fit(const std::string& ckpt_path) {
  start_fit(ckpt_path);
  run_sanity_check();
  run_train_loop();
  set_fx("on_fit_end");
  callbacks_do([&](Callback& c) { c.on_fit_end(*this, *model_); });
  module_do([&] { model_->on_fit_end(); });
  call_teardown("fit");
}

// Lightning's _resolve_overfit_batches: with overfit_batches, loaders that shuffle are rebuilt
// without shuffling (same batches every epoch).
Loaders Trainer::overfit_loaders(Loaders loaders, const char* prefix) const {
  const BatchLimit& overfit = options_.overfit_batches;
  if (overfit.is_count() ? overfit.count() == 0 : overfit.fraction() == 0) return loaders;
  bool shuffled = false;
  for (const auto& l : loaders.all()) shuffled = shuffled || (l->options().shuffle && l->dataset() != nullptr);
  if (!shuffled) return loaders;
  rank_zero_printf("You requested to overfit but enabled %s dataloader shuffling. We are turning off the %s "
                   "dataloader shuffling for you.\n", prefix, prefix);
  std::vector<std::shared_ptr<data::DataLoader>> out;
  for (const auto& l : loaders.all()) {
    if (!l->options().shuffle || l->dataset() == nullptr) {
      out.push_back(l);
      continue;
    }
    data::DataLoaderOptions unshuffled = l->options();
    unshuffled.shuffle = false;
    out.push_back(std::make_shared<data::DataLoader>(l->dataset(), std::move(unshuffled)));
  }
  return Loaders(std::move(out));
}

int64_t Trainer::estimated_stepping_batches() {
  const int64_t epochs = max_epochs();
  if (epochs == -1) return options_.max_steps == -1 ? std::numeric_limits<int64_t>::max() : options_.max_steps;
  FULGUR_CHECK(model_ != nullptr && state_.fn == "fit", "Trainer.estimated_stepping_batches",
               "only known during fit (it needs the train loader)");
  if (train_loaders_.empty()) train_loaders_ = request_loaders("train", true);
  train_loaders_ = distributed_loaders(std::move(train_loaders_), "train");  // DDP: this rank's share
  const int64_t batches = options_.limit_train_batches.apply(train_loaders_[0].size(), "limit_train_batches");
  const int64_t n = accumulate_grad_batches_;
  const int64_t steps = (batches + n - 1) / n * std::max<int64_t>(epochs, 1);
  return options_.max_steps == -1 ? steps : std::min(steps, options_.max_steps);
}

void Trainer::ensure_val_loaders() {
  // Lightning's _should_reload_val_dl: every reload_dataloaders_every_n_epochs epochs after the
  // last request (loaders passed to fit are kept).
  const int64_t every = options_.reload_dataloaders_every_n_epochs;
  const bool reload = every > 0 && !val_loaders_given_ && current_epoch_ - val_loaders_epoch_ >= every;
  if (!val_loaders_ready_ || reload) {
    val_loaders_ = request_loaders("val", false);
    val_loaders_ready_ = true;
  }
  val_loaders_ = overfit_loaders(distributed_loaders(std::move(val_loaders_), "val"), "val");
}

void Trainer::run_sanity_check() {
  const BatchLimit& lv = options_.limit_val_batches;
  const bool val_enabled = has_validation_step_ && (lv.is_count() ? lv.count() > 0 : lv.fraction() > 0);
  if (!val_enabled || *options_.num_sanity_val_steps == 0) return;
  state_.stage = "sanity_check";
  set_fx("on_sanity_check_start");
  callbacks_do([&](Callback& c) { c.on_sanity_check_start(*this, *model_); });
  run_evaluation(Stage::Validate, true);
  state_.stage = "sanity_check";
  set_fx("on_sanity_check_end");
  callbacks_do([&](Callback& c) { c.on_sanity_check_end(*this, *model_); });
  // Lightning drops whatever the sanity check logged.
  eval_results_->reset();
  state_.stage.clear();
}

bool Trainer::can_stop_early() const {
  const bool min_epochs = !options_.min_epochs || current_epoch_ >= *options_.min_epochs;
  const bool min_steps = !options_.min_steps || global_step_ >= *options_.min_steps;
  return min_epochs && min_steps;
}

bool Trainer::fit_done() const {
  if (num_training_batches_ == 0) return true;
  if (options_.max_steps != -1 && global_step_ >= options_.max_steps) return true;
  if (max_epochs() != -1 && current_epoch_ >= max_epochs()) return true;
  return should_stop_ && can_stop_early();
}

void Trainer::run_train_loop() {
  if (train_loaders_.empty()) train_loaders_ = request_loaders("train", true);
  // Lightning's fit_loop.setup_data: the batch counts for the (possibly reloaded) train loader.
  auto setup_train_data = [&] {
    train_loaders_ = distributed_loaders(std::move(train_loaders_), "train");
    train_loaders_by_user_order_ = train_loaders_.all();
    // Lightning wraps several train loaders in CombinedLoader(mode="max_size_cycle"): each
    // batch holds one batch per loader (a list, in the loaders' order).
    if (train_loaders_.size() > 1) train_loaders_ = data::CombinedLoader(train_loaders_.all(), "max_size_cycle");
    const auto* combined = dynamic_cast<const data::CombinedIterable*>(train_loaders_[0].iterable_dataset().get());
    FULGUR_CHECK(combined == nullptr || combined->mode() != "sequential", "Trainer.fit",
                 "`Trainer.fit` does not support the `CombinedLoader(mode=\"sequential\")` mode. The available modes "
                 "are: ['min_size', 'max_size_cycle', 'max_size']");
    train_loaders_ = overfit_loaders(std::move(train_loaders_), "train");
    num_training_batches_ = options_.limit_train_batches.apply(train_loaders_[0].size(), "limit_train_batches");
    const BatchLimit& vci = options_.val_check_interval;
    if (vci.is_count()) {
      val_check_batch_ = vci.count();
      FULGUR_CHECK(val_check_batch_ <= num_training_batches_ || !options_.check_val_every_n_epoch, "Trainer.fit",
                   "`val_check_interval` (", val_check_batch_, ") must be less than or equal to the number of the "
                   "training batches (", num_training_batches_, "). If you want to disable validation set "
                   "`limit_val_batches` to 0.0 instead. If you want to validate based on the total training batches, "
                   "set `check_val_every_n_epoch=None`.");
    } else {
      val_check_batch_ = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(num_training_batches_) *
                                                                   vci.fraction()));
    }
  };
  setup_train_data();
  if (num_training_batches_ == 0) {
    rank_zero_printf("`Trainer.fit` stopped: No training batches.\n");
  }
  state_.stage = "train";
  results_ = train_results_.get();
  model_->train();
  set_fx("on_train_start");
  callbacks_do([&](Callback& c) { c.on_train_start(*this, *model_); });
  module_do([&] { model_->on_train_start(); });
  strategy_do("on_train_start", [] {});  // (a no-op here; Lightning's profiler times it)
  const int64_t reload_every = options_.reload_dataloaders_every_n_epochs;
  while (!fit_done()) {
    // Lightning's _should_reload_train_dl, checked before on_train_epoch_start.
    if (reload_every > 0 && !train_loaders_given_ && current_epoch_ - train_loaders_epoch_ >= reload_every) {
      train_loaders_ = request_loaders("train", true);
      setup_train_data();
      if (fit_done()) break;
    }
    start_train_epoch();
    {
      const profilers::ProfileScope scope = profile("run_training_epoch");
      run_train_epoch();
    }
    finish_train_epoch();
  }
  state_.stage = "train";
  set_fx("on_train_end");
  callbacks_do([&](Callback& c) { c.on_train_end(*this, *model_); });
  module_do([&] { model_->on_train_end(); });
  strategy_do("on_train_end", [] {});
  results_ = nullptr;
}

void Trainer::start_train_epoch() {
  set_fx("on_train_epoch_start");
  callbacks_do([&](Callback& c) { c.on_train_epoch_start(*this, *model_); });
  module_do([&] { model_->on_train_epoch_start(); });
  set_train_sampler_epoch();  // Lightning's _set_sampler_epoch: each epoch its own shuffle
}

void Trainer::finish_train_epoch() {
  epoch_processed_ = true;
  // Lightning's special order: callbacks, the module, then the monitoring callbacks, so
  // that those see what the module logged in on_train_epoch_end.
  set_fx("on_train_epoch_end");
  callbacks_do([&](Callback& c) { c.on_train_epoch_end(*this, *model_); }, /*monitoring=*/false);
  module_do([&] { model_->on_train_epoch_end(); });
  detail::MetricViews epoch = train_results_->metrics(false);
  publish(epoch, false);
  callbacks_do([&](Callback& c) { c.on_train_epoch_end(*this, *model_); }, /*monitoring=*/true);
  publish(epoch, true);
  train_results_->reset();
  update_lr_schedulers("epoch", true, 0);
  ++current_epoch_;
  epoch_processed_ = false;
  epoch_batches_done_ = 0;
}

void Trainer::run_train_epoch() {
  if (num_training_batches_ == 0) return;
  data::DataLoader& loader = train_loaders_[0];
  skip_rest_of_epoch_ = false;
  // After a mid-epoch resume the loader replays the saved epoch from the next batch.
  const int64_t first = resume_batch_idx_;
  if (first > 0) loader.load_state_dict(resume_loader_state_);
  resume_batch_idx_ = 0;
  resume_loader_state_ = Value();
  epoch_batches_done_ = first;
  if (first >= num_training_batches_) return;
  // Lightning times each fetch (the iterator's first batch comes with begin()).
  auto fetch_scope = std::make_optional(profile("[_TrainingEpochLoop].train_dataloader_next"));
  auto it = loader.begin();
  fetch_scope.reset();
  for (int64_t batch_idx = first; batch_idx < num_training_batches_ && !(it == loader.end()); ++batch_idx) {
    const bool is_last = batch_idx + 1 == num_training_batches_;
    state_.stage = "train";
    results_ = train_results_.get();
    Batch batch = transfer(*it, 0);
    run_train_batch(batch, batch_idx);
    check_interrupt();  // Ctrl+C: stop after this batch (its end hooks ran)
    if (skip_rest_of_epoch_) break;
    if (should_check_val(batch_idx, is_last)) run_validation_in_fit(/*window_done=*/!should_accumulate(batch_idx));
    if (!should_accumulate(batch_idx)) update_lr_schedulers("step", true, batch_idx);
    if (options_.max_steps != -1 && global_step_ >= options_.max_steps) break;
    if (should_stop_ && can_stop_early()) break;
    if (!is_last) {
      const profilers::ProfileScope scope = profile("[_TrainingEpochLoop].train_dataloader_next");
      ++it;
    }
  }
}

bool Trainer::should_accumulate(int64_t batch_idx) const {
  const bool accumulation_done = (batch_idx + 1) % accumulate_grad_batches_ == 0;
  const bool is_final_batch = batch_idx + 1 == num_training_batches_;
  return !accumulation_done && !is_final_batch;
}

bool Trainer::should_check_val(int64_t batch_idx, bool is_last_batch) const {
  const BatchLimit& lv = options_.limit_val_batches;
  if (!has_validation_step_ || (lv.is_count() ? lv.count() == 0 : lv.fraction() == 0)) return false;
  const auto& every = options_.check_val_every_n_epoch;
  if (every && (current_epoch_ + 1) % *every != 0) return false;
  if (should_stop_ && can_stop_early()) return true;
  const int64_t current = every ? batch_idx : total_batch_idx_ - 1;
  return (current + 1) % val_check_batch_ == 0;
}

void Trainer::run_validation_in_fit(bool window_done) {
  // Lightning asks for the val loaders inside the val loop, after this hook (when there was no
  // sanity check); a module without val_dataloader gets the hook once, then never again.
  if (val_loaders_ready_ && val_loaders_.empty()) return;
  if (window_done) {
    // Lightning 2.5: only outside an accumulation window (the default hook zeroes the
    // gradients, which would drop the window's so far).
    set_fx("on_validation_model_zero_grad");
    module_do([&] { model_->on_validation_model_zero_grad(); });
  }
  run_evaluation(Stage::Validate, true);
  state_.stage = "train";
  results_ = train_results_.get();
}

void Trainer::run_train_batch(const Batch& batch, int64_t batch_idx) {
  current_batch_size_ = batch.batch_size();
  set_fx("on_train_batch_start");
  callbacks_do([&](Callback& c) { c.on_train_batch_start(*this, *model_, batch, batch_idx); });
  const int response = module_do([&] { return model_->on_train_batch_start(batch, batch_idx); });
  strategy_do("on_train_batch_start", [] {});
  if (response == -1) {
    skip_rest_of_epoch_ = true;  // Lightning: -1 ends the epoch here
    return;
  }
  Value outputs = Value::dict();
  last_loss_ = Tensor();
  {
    const profilers::ProfileScope scope = profile("run_training_batch");
    SetGradEnabled grad_on(true);
    if (model_->automatic_optimization()) run_automatic_batch(batch, batch_idx, &outputs);
    else run_manual_batch(batch, batch_idx, &outputs);
  }
  if (const Value* loss = outputs.find("loss"); loss != nullptr && loss->is_tensor()) last_loss_ = loss->as_tensor();
  if (!should_accumulate(batch_idx)) update_lr_schedulers("step", false, batch_idx);
  if (batch_idx + 1 == num_training_batches_) update_lr_schedulers("epoch", false, batch_idx);
  // The batch counts as done from here on, so a checkpoint saved in on_train_batch_end
  // resumes with the next batch.
  epoch_batches_done_ = batch_idx + 1;
  ++total_batch_idx_;
  const bool stepped = !should_accumulate(batch_idx);
  if (stepped) ++batches_that_stepped_;
  // Lightning's callback/progress-bar metrics are live views of what was logged: the batch-end
  // hooks (the progress bar's postfix) see this step's values. Loggers get them below.
  publish(train_results_->metrics(true), false);
  set_fx("on_train_batch_end");
  callbacks_do([&](Callback& c) { c.on_train_batch_end(*this, *model_, outputs, batch, batch_idx); });
  module_do([&] { model_->on_train_batch_end(outputs, batch, batch_idx); });
  if (stepped || !model_->automatic_optimization()) {
    // Lightning: log when the count of stepped batches (this one included) is a multiple of
    // log_every_n_steps.
    // (log_every_n_steps 0: never.)
    const int64_t every = *options_.log_every_n_steps;
    const bool update_logs = every != 0 && (batches_that_stepped_ % every == 0 || should_stop_);
    publish(train_results_->metrics(true), update_logs);
  }
}

void Trainer::run_automatic_batch(const Batch& batch, int64_t batch_idx, Value* outputs) {
  optim::Optimizer* opt = optimizers_.empty() ? nullptr : optimizers_[0].get();
  const int64_t n = accumulate_grad_batches_;
  // Lightning's closure: training_step, zero_grad on the first micro-batch of a window,
  // backward of loss / accumulate_grad_batches.
  auto closure = [&]() -> Tensor {
    set_fx("training_step");
    StepOutput out;
    // DDP: gradients are averaged across processes only on the backward that completes an
    // accumulation window (no_sync() on the others).
    strategy_->set_gradient_sync(!should_accumulate(batch_idx));
    strategy_->before_training_step(*model_);
    try {
      const auto precision_context = precision_plugin_->forward_context();  // autocast for "bf16-mixed"
      out = strategy_do("training_step", [&] { return model_->training_step(batch, batch_idx); });
    } catch (const detail::HookNotOverridden&) {
      FULGUR_FAIL("training_step", "`training_step` must be implemented to be used with the Lightning Trainer; "
                  "hint: override training_step(const L::Batch&, int64_t) in ", model_->name());
    }
    Tensor loss;
    if (!out.is_none()) loss = n == 1 ? out.loss() : out.loss().div(static_cast<double>(n));
    if (opt != nullptr && batch_idx % n == 0) {
      set_fx("on_before_zero_grad");
      callbacks_do([&](Callback& c) { c.on_before_zero_grad(*this, *model_, *opt); });
      module_do([&] { model_->on_before_zero_grad(*opt); });
      set_fx("optimizer_zero_grad");
      module_do([&] { model_->optimizer_zero_grad(current_epoch_, batch_idx, *opt); });
    }
    if (loss.defined()) {
      // Lightning's strategy.backward runs the hooks around the backward pass (its profiler
      // action holds them).
      const profilers::ProfileScope scope = profile_strategy_hook("backward");
      set_fx("on_before_backward");
      callbacks_do([&](Callback& c) { c.on_before_backward(*this, *model_, loss); });
      module_do([&] { model_->on_before_backward(loss); });
      set_fx("backward");
      strategy_->backward(loss, *model_, opt);
      set_fx("on_after_backward");
      callbacks_do([&](Callback& c) { c.on_after_backward(*this, *model_); });
      module_do([&] { model_->on_after_backward(); });
    }
    *outputs = out.as_dict();
    if (loss.defined()) outputs->set("loss", loss.detach());
    return loss.defined() ? loss.detach() : Tensor();
  };
  if (opt == nullptr || should_accumulate(batch_idx)) {
    closure();
    return;
  }
  // The optimizer runs the closure; then on_before_optimizer_step and clipping, then the step.
  auto wrapped = [&]() -> Tensor {
    Tensor loss = closure();
    if (loss.defined()) precision_plugin_->unscale_gradients(*opt);  // 16-mixed: before clipping
    set_fx("on_before_optimizer_step");
    callbacks_do([&](Callback& c) { c.on_before_optimizer_step(*this, *model_, *opt); });
    module_do([&] { model_->on_before_optimizer_step(*opt); });
    set_fx("configure_gradient_clipping");
    module_do([&] {
      model_->configure_gradient_clipping(*opt, options_.gradient_clip_val, options_.gradient_clip_algorithm);
    });
    set_fx("optimizer_step");
    return loss;
  };
  set_fx("optimizer_step");
  module_do([&] { model_->optimizer_step(current_epoch_, batch_idx, *opt, wrapped); });
  ++global_step_;
}

void Trainer::run_manual_batch(const Batch& batch, int64_t batch_idx, Value* outputs) {
  set_fx("training_step");
  StepOutput out;
  // Manual optimization: every manual_backward synchronises (Lightning's DDP does the same).
  strategy_->set_gradient_sync(true);
  strategy_->before_training_step(*model_);
  try {
    const auto precision_context = precision_plugin_->forward_context();  // autocast for "bf16-mixed"
    out = strategy_do("training_step", [&] { return model_->training_step(batch, batch_idx); });
  } catch (const detail::HookNotOverridden&) {
    FULGUR_FAIL("training_step", "`training_step` must be implemented to be used with the Lightning Trainer");
  }
  *outputs = out.as_dict();
  if (out.has_loss()) outputs->set("loss", out.loss().detach());
}

void Trainer::update_lr_schedulers(const std::string& interval, bool plateau, int64_t batch_idx) {
  if (schedulers_.empty() || !model_->automatic_optimization()) return;
  for (LRSchedulerConfig& config : schedulers_) {
    if (config.scheduler.is_plateau() != plateau || config.interval != interval) continue;
    const int64_t idx = (interval == "step" ? batch_idx : current_epoch_) + 1;
    if (idx % config.frequency != 0) continue;
    std::optional<double> monitor_value;
    if (plateau) {
      const auto it = callback_metrics_.find(config.monitor);
      if (it == callback_metrics_.end()) {
        std::string keys;
        for (const auto& [k, v] : callback_metrics_) keys += (keys.empty() ? "'" : ", '") + k + "'";
        FULGUR_CHECK(!config.strict, "lr_scheduler_step", "ReduceLROnPlateau conditioned on metric ", config.monitor,
                     " which is not available. Available metrics are: [", keys,
                     "]. Condition can be set using `monitor` key in lr scheduler dict");
        rank_zero_printf("warning: ReduceLROnPlateau conditioned on metric %s which is not available but strict "
                         "is set to `False`. Skipping learning rate update.\n", config.monitor.c_str());
        continue;
      }
      monitor_value = it->second;
    }
    const std::string fx = current_fx_;
    set_fx("lr_scheduler_step");
    module_do([&] { model_->lr_scheduler_step(config.scheduler, monitor_value); });
    set_fx(fx);
  }
}

}  // namespace fulgur::lightning
