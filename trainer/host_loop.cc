// Host-driven fit: Trainer::fit's phases as separate calls (trainer.h, "host-driven fit"), for
// programs whose own loop decides when to train. The phases are the ones fit() runs
// (fit_loop.cc); only the batch source and the epoch boundaries come from the caller.
#include <cmath>
#include <limits>

#include "fulgur/kernels/error.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

void Trainer::host_guard(const char* op, const std::function<void()>& body) {
  FULGUR_CHECK(host_fit_, op, "no host-driven fit is in progress; hint: call fit_begin(model) first (a failed call "
               "ends the fit, as fit() would)");
  try {
    body();
  } catch (const std::exception& e) {
    host_fit_ = false;
    host_epoch_open_ = false;
    fail_run(e);
  }
}

void Trainer::fit_begin(LightningModule& model, Loaders val_dataloaders, FitOptions options) {
  FULGUR_CHECK(!host_fit_, "Trainer.fit_begin", "a host-driven fit is already in progress; hint: call fit_end() "
               "first");
  begin_run(model, nullptr, "fit");
  val_loaders_ = std::move(val_dataloaders);
  val_loaders_ready_ = !val_loaders_.empty();
  val_loaders_given_ = !val_loaders_.empty();
  train_loaders_given_ = true;  // the host brings the batches
  failed_hook_.clear();
  host_fit_ = true;
  host_epoch_open_ = false;
  host_batch_idx_ = 0;
  host_guard("Trainer.fit_begin", [&] {
    start_fit(options.ckpt_path);
    // A mid-epoch checkpoint continues its epoch's batch count; the host supplies the data.
    host_batch_idx_ = resume_batch_idx_;
    resume_batch_idx_ = 0;
    // The epoch has no known length: accumulation windows and step schedulers count batches;
    // nothing validates by itself.
    num_training_batches_ = std::numeric_limits<int64_t>::max();
    val_check_batch_ = std::numeric_limits<int64_t>::max();
    state_.stage = "train";
    results_ = train_results_.get();
    model_->train();
    set_fx("on_train_start");
    callbacks_do([&](Callback& c) { c.on_train_start(*this, *model_); });
    module_do([&] { model_->on_train_start(); });
    strategy_do("on_train_start", [] {});
  });
}

double Trainer::fit_step(const Value& raw_batch) {
  double loss = std::numeric_limits<double>::quiet_NaN();
  host_guard("Trainer.fit_step", [&] {
    state_.stage = "train";
    results_ = train_results_.get();
    model_->train();
    if (!host_epoch_open_) {
      start_train_epoch();
      host_epoch_open_ = true;
    }
    const int64_t batch_idx = host_batch_idx_++;
    Batch batch = transfer(raw_batch, 0);
    run_train_batch(batch, batch_idx);
    if (!should_accumulate(batch_idx)) update_lr_schedulers("step", true, batch_idx);
    if (options_.max_steps != -1 && global_step_ >= options_.max_steps) should_stop_ = true;
    if (last_loss_.defined()) loss = last_loss_.item<double>();
  });
  return loss;
}

std::map<std::string, double> Trainer::fit_validate() {
  host_guard("Trainer.fit_validate", [&] {
    run_validation_in_fit();
    model_->train();
  });
  return callback_metrics_;
}

std::map<std::string, double> Trainer::fit_validate(Loaders val_dataloaders) {
  host_guard("Trainer.fit_validate", [&] {
    val_loaders_ = std::move(val_dataloaders);
    val_loaders_ready_ = true;
    val_loaders_given_ = true;
  });
  return fit_validate();
}

void Trainer::fit_epoch_end() {
  host_guard("Trainer.fit_epoch_end", [&] {
    if (!host_epoch_open_) return;
    state_.stage = "train";
    results_ = train_results_.get();
    // The last batch of the epoch steps the epoch-interval schedulers (Lightning: at that
    // batch's end, before on_train_epoch_end).
    update_lr_schedulers("epoch", false, host_batch_idx_ - 1);
    finish_train_epoch();
    host_epoch_open_ = false;
    host_batch_idx_ = 0;
  });
}

void Trainer::fit_end() {
  host_guard("Trainer.fit_end", [&] {
    if (host_epoch_open_) {
      update_lr_schedulers("epoch", false, host_batch_idx_ - 1);
      finish_train_epoch();
      host_epoch_open_ = false;
    }
    state_.stage = "train";
    set_fx("on_train_end");
    callbacks_do([&](Callback& c) { c.on_train_end(*this, *model_); });
    module_do([&] { model_->on_train_end(); });
    strategy_do("on_train_end", [] {});
    results_ = nullptr;
    set_fx("on_fit_end");
    callbacks_do([&](Callback& c) { c.on_fit_end(*this, *model_); });
    module_do([&] { model_->on_fit_end(); });
    call_teardown("fit");
    finalize_loggers("success");
    profiler_->describe();
    state_.status = "finished";
    state_.stage.clear();
  });
  host_fit_ = false;
  end_run();
}

}  // namespace fulgur::lightning
