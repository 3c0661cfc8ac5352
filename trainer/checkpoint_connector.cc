// Trainer checkpoints with Lightning's keys, and resuming from them (Lightning's
// _CheckpointConnector): what is written, and the order in which a resume restores it.
#include <fstream>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/checkpoint.h"
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
      fit_loop.set("train_dataloader_state", train_loaders_[0].state_dict());
    }
    ck.set("loops", Value::dict({{"fit_loop", fit_loop}}));
    Value callbacks = Value::dict();
    for (const auto& c : callbacks_) callbacks.set(c->state_key(), c->state_dict());
    ck.set("callbacks", callbacks);
    Value optimizers = Value::list();
    for (const auto& o : optimizers_) optimizers.push_back(o->state_dict());
    ck.set("optimizer_states", optimizers);
    Value schedulers = Value::list();
    for (const LRSchedulerConfig& s : schedulers_) schedulers.push_back(s.scheduler.state_dict());
    ck.set("lr_schedulers", schedulers);
  }
  if (model_->hyperparameters_saved()) {
    ck.set("hparams_name", "kwargs");
    ck.set("hyper_parameters", model_->hparams().to_value());
  }
  if (datamodule_ != nullptr) ck.set(datamodule_->name(), datamodule_->state_dict());
  const std::string fx = current_fx_;
  set_fx("on_save_checkpoint");
  callbacks_do([&](Callback& c) { c.on_save_checkpoint(*this, *model_, ck); });
  model_->on_save_checkpoint(ck);
  set_fx(fx);
  return ck;
}

void Trainer::save_checkpoint(const std::string& path, bool weights_only) {
  fulgur::save(dump_checkpoint(weights_only), path);
}

void Trainer::restore_modules_and_callbacks(const Value& ck) {
  set_fx("on_load_checkpoint");
  model_->on_load_checkpoint(ck);
  nn::StateDict sd;
  for (const Value::Item& item : ck.at("state_dict").items())
    sd.insert(item.first.as_string(), item.second.as_tensor());
  model_->load_state_dict(sd);
  if (datamodule_ != nullptr) {
    if (const Value* dm = ck.find(datamodule_->name())) datamodule_->load_state_dict(*dm);
  }
  callbacks_do([&](Callback& c) { c.on_load_checkpoint(*this, *model_, ck); });
  if (const Value* states = ck.find("callbacks")) {
    for (const auto& c : callbacks_) {
      if (const Value* s = states->find(c->state_key())) c->load_state_dict(*s);
    }
  }
}

void Trainer::restore_training_state(const Value& ck) {
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
