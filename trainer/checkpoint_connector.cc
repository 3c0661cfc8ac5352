// Trainer checkpoints with Lightning's keys, and resuming from them (Lightning's
// _CheckpointConnector): what is written, and the order in which a resume restores it.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/checkpoint.h"
#include "fulgur/trainer/callbacks/on_exception_checkpoint.h"
#include "fulgur/trainer/load_from_checkpoint.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"
#include "fulgur/trainer/version.h"

namespace fulgur::lightning {

namespace {
Value progress(int64_t processed, int64_t completed) {
  // Lightning's _Progress: {"total": {...}, "current": {...}} of ready/started/processed/completed.
  const Value counts = Value::dict({{"ready", processed}, {"started", processed}, {"processed", processed},
                                    {"completed", completed}});
  return Value::dict({{"total", counts}, {"current", counts}});
}
}  // namespace

Value Trainer::dump_checkpoint(bool weights_only) {
  FULGUR_CHECK(model_ != nullptr, "Trainer.save_checkpoint", "no model is attached; hint: call it during or after fit");
  Value state = Value::dict();
  for (const auto& [name, tensor] : model_->state_dict()) state.set(name, tensor);
  Value ck = Value::dict({{"epoch", current_epoch_},
                          {"global_step", global_step_},
                          {"pytorch-lightning_version", kLightningVersion},
                          {"fulgur_version", kFulgurVersion},
                          {"state_dict", state}});
  if (!weights_only) {
    const int64_t processed = current_epoch_ + (epoch_processed_ ? 1 : 0);
    Value fit_loop = Value::dict(
        {{"state_dict", Value::dict()},
         {"epoch_progress", progress(processed, current_epoch_)},
         {"epoch_loop.state_dict", Value::dict({{"_batches_that_stepped", batches_that_stepped_},
                                                {"total_batch_idx", total_batch_idx_}})},
         {"epoch_loop.batch_progress", progress(epoch_batches_done_, epoch_processed_ ? 0 : epoch_batches_done_)},
         {"epoch_loop.automatic_optimization.optim_progress",
          Value::dict({{"optimizer", Value::dict({{"step", progress(global_step_, global_step_)}})}})}});
    // A mid-epoch save keeps the loader's position, so a resume continues with the next batch.
    if (!epoch_processed_ && epoch_batches_done_ > 0 && !train_loaders_.empty()) {
      // A save from inside a batch (OnExceptionCheckpoint after training_step failed) comes
      // after that batch was fetched: the resume must fetch it again.
      const data::DataLoader& loader = train_loaders_[0];
      Value loader_state = loader.batches_yielded() > epoch_batches_done_ ? loader.state_dict(epoch_batches_done_)
                                                                         : loader.state_dict();
      fit_loop.set("train_dataloader_state", std::move(loader_state));
    }
    ck.set("loops", Value::dict({{"fit_loop", fit_loop}}));
    Value callbacks = Value::dict();
    // Lightning's _call_callbacks_state_dict: callbacks without state (the progress bar, the
    // model summary, ...) leave no entry.
    for (const auto& c : callbacks_) {
      Value state = c->state_dict();
      if (!(state.is_dict() && state.items().empty())) callbacks.set(c->state_key(), std::move(state));
    }
    ck.set("callbacks", callbacks);
    Value optimizers = Value::list();
    for (const auto& o : optimizers_) optimizers.push_back(o->state_dict());
    ck.set("optimizer_states", optimizers);
    Value schedulers = Value::list();
    for (const LRSchedulerConfig& s : schedulers_) schedulers.push_back(s.scheduler.state_dict());
    ck.set("lr_schedulers", schedulers);
    // Lightning: the precision plugin's state under its class name, when it has any (a
    // GradScaler's for 16-mixed; nothing for 32/64/bf16).
    Value precision_state = precision_plugin_->state_dict();
    if (!(precision_state.is_dict() && precision_state.items().empty()))
      ck.set(precision_plugin_->class_name(), std::move(precision_state));
  }
  // Lightning dumps hyperparameters only when there are some (`if obj and obj.hparams`).
  if (model_->hyperparameters_saved() && !model_->hparams().empty()) {
    ck.set("hparams_name", "kwargs");
    ck.set("hyper_parameters", model_->hparams().to_value());
  }
  if (datamodule_ != nullptr && datamodule_->hyperparameters_saved() && !datamodule_->hparams().empty()) {
    ck.set("datamodule_hparams_name", "kwargs");
    ck.set("datamodule_hyper_parameters", datamodule_->hparams().to_value());
  }
  if (datamodule_ != nullptr) {
    // Its state under its name, when it has any (Lightning's `if datamodule_state_dict`).
    const std::string outer_fx = current_fx_;
    set_fx("state_dict");
    Value state = datamodule_do([&] { return datamodule_->state_dict(); });
    set_fx(outer_fx);
    if (!(state.is_dict() && state.items().empty())) ck.set(datamodule_->name(), std::move(state));
  }
  const std::string fx = current_fx_;
  set_fx("on_save_checkpoint");
  if (!weights_only) callbacks_do([&](Callback& c) { c.on_save_checkpoint(*this, *model_, ck); });
  module_do([&] { model_->on_save_checkpoint(ck); });
  set_fx(fx);
  return ck;
}

void Trainer::save_checkpoint(const std::string& path, bool weights_only) {
  const profilers::ProfileScope scope = profile("save_checkpoint");
  const Value checkpoint = dump_checkpoint(weights_only);
  // Lightning's strategy.save_checkpoint: rank 0 writes (every rank holds the same state), the
  // others wait for the file to exist.
  if (is_global_zero()) {
    // Lightning's TorchCheckpointIO creates the folder (a filename template may add subfolders).
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    fulgur::save(checkpoint, path);
  }
  strategy_->barrier("Trainer.save_checkpoint");
}

std::string Trainer::select_ckpt_path(const std::string& fn, const std::string& ckpt_path) {
  // The module is always passed in C++, so an empty ckpt_path means "use it as it is"
  // (Lightning: model_provided and ckpt_path None), except that a fit with an
  // OnExceptionCheckpoint resumes from the last checkpoint, as Lightning's _parse_ckpt_path does.
  std::vector<const callbacks::OnExceptionCheckpoint*> on_exception;
  for (const auto& c : state_.fn.empty() ? options_.callbacks : callbacks_) {
    if (const auto* oe = dynamic_cast<const callbacks::OnExceptionCheckpoint*>(c.get())) on_exception.push_back(oe);
  }
  if (ckpt_path.empty() && !on_exception.empty() && fn == "fit") {
    rank_zero_printf("warning: `.fit(ckpt_path=None)` was called without a model. The last model of the previous "
                     "`fit` call will be used. You can pass `fit(ckpt_path='best')` to use the best model or "
                     "`fit(ckpt_path='last')` to use the last model. If you pass a value, this warning will be "
                     "silenced.\n");
    return select_ckpt_path(fn, "last");
  }
  if (ckpt_path.empty()) return "";
  if (ckpt_path == "best") {
    const auto all = checkpoint_callbacks();
    if (all.size() > 1) {
      rank_zero_printf("warning: `.%s(ckpt_path=\"best\")` is called with Trainer configured with multiple "
                       "`ModelCheckpoint` callbacks. It will use the best checkpoint path from first checkpoint "
                       "callback.\n", fn.c_str());
    }
    FULGUR_CHECK(!all.empty(), ("Trainer." + fn).c_str(), "`.", fn,
                 "(ckpt_path=\"best\")` is set but `ModelCheckpoint` is not configured.");
    const std::string& best = all[0]->best_model_path();
    FULGUR_CHECK(!best.empty() || options_.fast_dev_run == 0, ("Trainer." + fn).c_str(),
                 "You cannot execute `.", fn, "(ckpt_path=\"best\")` with `fast_dev_run=True`. Please pass an exact "
                 "checkpoint path to `.", fn, "(ckpt_path=...)`");
    FULGUR_CHECK(!best.empty(), ("Trainer." + fn).c_str(), "`.", fn,
                 "(ckpt_path=\"best\")` is set but `ModelCheckpoint` is not configured to save the best model.");
    return best;
  }
  if (ckpt_path == "last") {
    // The newest of the OnExceptionCheckpoints' files and the "last*.ckpt" of every
    // ModelCheckpoint's folder.
    std::vector<std::string> candidates;
    for (const callbacks::OnExceptionCheckpoint* c : on_exception) candidates.push_back(c->ckpt_path());
    for (const callbacks::ModelCheckpoint* c : checkpoint_callbacks()) {
      for (const std::string& path : c->find_last_checkpoints(*this)) candidates.push_back(path);
    }
    std::string newest;
    std::filesystem::file_time_type newest_time;
    for (const std::string& path : candidates) {
      std::error_code ec;
      const auto t = std::filesystem::last_write_time(path, ec);
      if (ec) continue;
      if (newest.empty() || t > newest_time) {
        newest = path;
        newest_time = t;
      }
    }
    if (newest.empty()) {
      // Not an error, so that "last" can be set before the first fit.
      rank_zero_printf("warning: .%s(ckpt_path=\"last\") is set, but there is no last checkpoint available. No "
                       "checkpoint will be loaded. HINT: Set `ModelCheckpoint(..., save_last=True)`.\n",
                       fn.c_str());
    }
    return newest;
  }
  return ckpt_path;
}

Value Trainer::resume_start() {
  if (ckpt_path_.empty()) return Value();
  // rank_zero_info in Lightning: once per run, not once per rank.
  rank_zero_printf("Restoring states from the checkpoint path at %s\n", ckpt_path_.c_str());
  return fulgur::load(ckpt_path_);
}

void Trainer::restore_modules_and_callbacks(const Value& ck) {
  set_fx("on_load_checkpoint");
  module_do([&] { model_->on_load_checkpoint(ck); });
  // The module in the run's dtype first ("64-true"): loading float64 weights into the float32
  // module and converting afterwards would round them (Lightning does that; a resume here is
  // exact).
  precision_plugin_->convert_module(*model_);
  model_->load_state_dict(detail::checkpoint_state_dict(ck), model_->strict_loading());
  if (datamodule_ != nullptr) {
    if (const Value* dm = ck.find(datamodule_->name())) {
      set_fx("load_state_dict");
      datamodule_do([&] { datamodule_->load_state_dict(*dm); });
      set_fx("on_load_checkpoint");
    }
  }
  // Lightning's restore_callbacks, in every stage: nothing for a checkpoint without callback
  // states (weights_only), else every callback's on_load_checkpoint, then its state.
  const Value* states = ck.find("callbacks");
  if (states == nullptr) return;
  callbacks_do([&](Callback& c) { c.on_load_checkpoint(*this, *model_, ck); });
  for (const auto& c : callbacks_) {
    if (const Value* s = states->find(c->state_key())) c->load_state_dict(*s);
  }
}

void Trainer::restore_training_state(const Value& ck) {
  // Lightning's restore_precision_plugin_state comes first.
  if (const Value* precision_state = ck.find(precision_plugin_->class_name()))
    precision_plugin_->load_state_dict(*precision_state);
  FULGUR_CHECK(ck.contains("optimizer_states"), "Trainer.fit", "Trying to restore optimizer state but checkpoint "
               "contains only the model. This is probably due to `ModelCheckpoint.save_weights_only` being set to "
               "`True`. (hint: resume from a full checkpoint, or load the weights into the module and fit without "
               "ckpt_path)");
  const Value& opts = ck.at("optimizer_states");
  FULGUR_CHECK(opts.size() == optimizers_.size(), "Trainer.fit", "the checkpoint has ", opts.size(),
               " optimizer states, configure_optimizers returned ", optimizers_.size(), " optimizers");
  for (size_t i = 0; i < optimizers_.size(); ++i) optimizers_[i]->load_state_dict(opts[i]);
  const Value& scheds = ck.at("lr_schedulers");
  FULGUR_CHECK(scheds.size() == schedulers_.size(), "Trainer.fit", "the checkpoint has ", scheds.size(),
               " lr scheduler states, configure_optimizers returned ", schedulers_.size());
  for (size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i].scheduler.load_state_dict(scheds[i]);
  global_step_ = ck.at("global_step").as_int();
  const Value& loop = ck.at("loops").at("fit_loop");
  current_epoch_ = loop.at("epoch_progress").at("current").at("processed").as_int();
  const Value& epoch_state = loop.at("epoch_loop.state_dict");
  batches_that_stepped_ = epoch_state.at("_batches_that_stepped").as_int();
  total_batch_idx_ = epoch_state.at("total_batch_idx").as_int();
  resume_batch_idx_ = 0;
  resume_loader_state_ = Value();
  if (const Value* loader = loop.find("train_dataloader_state")) {
    resume_batch_idx_ = loop.at("epoch_loop.batch_progress").at("current").at("processed").as_int();
    resume_loader_state_ = *loader;
  }
}

}  // namespace fulgur::lightning
