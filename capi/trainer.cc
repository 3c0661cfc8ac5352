// The Trainer behind the C ABI: a LightningModule adaptor over the C handles (model, optimizer,
// loss kind), driven by the host's loop through L::Trainer's host-driven fit.
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "capi/handles.h"
#include "capi/trainer_handle.h"

namespace fulgur::capi {

// The module the Trainer runs: the C model as submodule "net" (so checkpoints hold
// "net.<param>", which fulgur_checkpoint_load reads with key_prefix "net."), the C optimizer
// (not owned: the handle outlives the trainer), the loss kind.
class CapiModule : public lightning::LightningModule {
 public:
  CapiModule(fulgur_model* model, fulgur_optimizer* optimizer, int32_t loss, const fulgur_trainer* owner)
      : model_(model), optimizer_(optimizer), loss_(loss), owner_(owner) {
    register_module("net", model->net);
  }
  Tensor forward(const Tensor& x) override { return model_->net->forward(x); }
  lightning::StepOutput training_step(const lightning::Batch& batch, int64_t) override {
    Tensor loss = loss_of(batch);
    log("train_loss", loss, {.on_step = true, .on_epoch = true, .sync_dist = true});
    return loss;
  }
  void validation_step(const lightning::Batch& batch, int64_t) override {
    log("val_loss", loss_of(batch), {.sync_dist = true});
  }
  lightning::OptimizerConfig configure_optimizers() override {
    std::shared_ptr<optim::Optimizer> opt(optimizer_->optimizer.get(), [](optim::Optimizer*) {});
    if (owner_->lr_schedule == FULGUR_LR_CONSTANT) return opt;
    return {opt, lr_scheduler(*opt)};
  }

 private:
  Tensor loss_of(const lightning::Batch& batch) {
    auto [x, y] = batch.unpack<2>();
    fulgur_tensor prediction{forward(x)};
    fulgur_tensor target{y};
    return compute_loss(loss_, &prediction, &target);
  }
  lightning::LRSchedulerConfig lr_scheduler(optim::Optimizer& opt) const {
    const fulgur_trainer& o = *owner_;
    lightning::LRSchedulerConfig config;
    if (o.lr_every_n_steps > 0) {
      config.interval = "step";
      config.frequency = o.lr_every_n_steps;
    }
    switch (o.lr_schedule) {
      case FULGUR_LR_STEP:
        config.scheduler = std::make_shared<optim::StepLR>(
            opt, optim::StepLROptions{.step_size = static_cast<int64_t>(o.lr_param1), .gamma = o.lr_param2});
        break;
      case FULGUR_LR_EXPONENTIAL:
        config.scheduler = std::make_shared<optim::ExponentialLR>(opt, optim::ExponentialLROptions{.gamma = o.lr_param1});
        break;
      case FULGUR_LR_COSINE:
        config.scheduler = std::make_shared<optim::CosineAnnealingLR>(
            opt, optim::CosineAnnealingLROptions{.T_max = static_cast<int64_t>(o.lr_param1), .eta_min = o.lr_param2});
        break;
      default:  // FULGUR_LR_PLATEAU (fulgur_trainer_set_lr_schedule admits nothing else)
        config.scheduler = std::make_shared<optim::ReduceLROnPlateau>(
            opt, optim::ReduceLROnPlateauOptions{.factor = o.lr_param1, .patience = static_cast<int64_t>(o.lr_param2)});
        config.monitor = "val_loss";
        break;
    }
    return config;
  }

  fulgur_model* model_;
  fulgur_optimizer* optimizer_;
  int32_t loss_;
  const fulgur_trainer* owner_;
};

// The checks of fulgur_trainer_set_lr_schedule: integers where PyTorch takes ints, ranges where
// its constructors would throw later (at begin, far from the call that was wrong).
void check_lr_schedule(int32_t schedule, double param1, double param2, int64_t every_n_steps) {
  const auto integer_at_least = [](double v, double lo) { return v >= lo && v == std::floor(v) && v < 9.0e15; };
  const std::string given = "(param1 " + std::to_string(param1) + ", param2 " + std::to_string(param2) + ")";
  if (every_n_steps < 0) {
    fail(FULGUR_INVALID_ARGUMENT, "every_n_steps is " + std::to_string(every_n_steps) +
                                      "; hint: 0 steps the schedule at each epoch end, n >= 1 every n optimizer steps");
  }
  switch (schedule) {
    case FULGUR_LR_CONSTANT:
      return;
    case FULGUR_LR_STEP:
      if (!integer_at_least(param1, 1) || !(param2 > 0)) {
        fail(FULGUR_INVALID_ARGUMENT, "FULGUR_LR_STEP " + given + ": step_size (param1) must be an integer >= 1 and gamma (param2) > 0");
      }
      return;
    case FULGUR_LR_EXPONENTIAL:
      if (!(param1 > 0)) fail(FULGUR_INVALID_ARGUMENT, "FULGUR_LR_EXPONENTIAL " + given + ": gamma (param1) must be > 0");
      return;
    case FULGUR_LR_COSINE:
      if (!integer_at_least(param1, 1) || !(param2 >= 0)) {
        fail(FULGUR_INVALID_ARGUMENT, "FULGUR_LR_COSINE " + given + ": T_max (param1) must be an integer >= 1 and eta_min (param2) >= 0");
      }
      return;
    case FULGUR_LR_PLATEAU:
      if (!(param1 > 0 && param1 < 1) || !integer_at_least(param2, 0)) {
        fail(FULGUR_INVALID_ARGUMENT, "FULGUR_LR_PLATEAU " + given + ": factor (param1) must be in (0, 1) and patience (param2) an integer >= 0");
      }
      if (every_n_steps != 0) {
        fail(FULGUR_INVALID_ARGUMENT, "FULGUR_LR_PLATEAU with every_n_steps " + std::to_string(every_n_steps) +
                                          ": it is stepped with val_loss at epoch ends; hint: pass every_n_steps 0");
      }
      return;
    default:
      fail(FULGUR_INVALID_ARGUMENT, "schedule " + std::to_string(schedule) + " is not a fulgur_lr_schedule (0..4)");
  }
}

// Calls the host's functions from the Trainer's hooks.
class HostCallbacks : public lightning::Callback {
 public:
  explicit HostCallbacks(fulgur_trainer* owner) : owner_(owner) {}
  void on_train_batch_end(lightning::Trainer& trainer, lightning::LightningModule&, const Value&,
                          const lightning::Batch&, int64_t) override {
    if (owner_->on_train_batch_end == nullptr) return;
    const auto& m = trainer.callback_metrics();
    const auto it = m.find("train_loss_step");
    owner_->on_train_batch_end(owner_->user_data, trainer.global_step(),
                               it == m.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
  }
  void on_validation_end(lightning::Trainer& trainer, lightning::LightningModule&) override {
    if (owner_->on_validation_end == nullptr || trainer.sanity_checking()) return;
    const auto& m = trainer.callback_metrics();
    const auto it = m.find("val_loss");
    owner_->on_validation_end(owner_->user_data, trainer.global_step(),
                              it == m.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
  }

 private:
  fulgur_trainer* owner_;
};

lightning::TrainerOptions trainer_options(const fulgur_trainer_options& o, fulgur_trainer* owner) {
  if (o.accumulate_grad_batches < 1) {
    fail(FULGUR_INVALID_ARGUMENT, "accumulate_grad_batches is " + std::to_string(o.accumulate_grad_batches) +
                                      ", must be >= 1");
  }
  if (o.log_every_n_steps < 1) {
    fail(FULGUR_INVALID_ARGUMENT, "log_every_n_steps is " + std::to_string(o.log_every_n_steps) + ", must be >= 1");
  }
  lightning::TrainerOptions t;
  t.max_steps = o.max_steps;
  t.accumulate_grad_batches = o.accumulate_grad_batches;
  if (o.gradient_clip_val > 0) t.gradient_clip_val = o.gradient_clip_val;
  t.log_every_n_steps = o.log_every_n_steps;
  if (o.default_root_dir != nullptr) t.default_root_dir = o.default_root_dir;
  t.enable_progress_bar = false;
  t.enable_model_summary = false;
  t.num_sanity_val_steps = 0;
  t.logger = false;
  if (o.csv_logger != 0) {
    t.logger = std::make_shared<lightning::loggers::CSVLogger>(
        lightning::loggers::CSVLoggerOptions{.save_dir = o.default_root_dir != nullptr ? o.default_root_dir : "."});
  }
  t.enable_checkpointing = o.checkpoint_dir != nullptr;
  if (o.checkpoint_dir != nullptr) {
    lightning::callbacks::ModelCheckpointOptions c;
    c.dirpath = o.checkpoint_dir;
    if (o.monitor != nullptr) c.monitor = o.monitor;
    c.save_top_k = o.save_top_k;
    c.save_last = o.save_last != 0;
    t.callbacks.push_back(std::make_shared<lightning::callbacks::ModelCheckpoint>(c));
  }
  if (o.early_stopping_patience >= 0) {
    t.callbacks.push_back(std::make_shared<lightning::callbacks::EarlyStopping>(
        lightning::callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = o.early_stopping_patience}));
  }
  t.callbacks.push_back(std::make_shared<HostCallbacks>(owner));
  // Each rank's host passes its own batches (its part of the domain): a DistributedSampler
  // would validate every rank on a share of its own batch only.
  t.use_distributed_sampler = false;
  if (owner->process_group) {
    t.strategy = std::make_shared<lightning::DDPStrategy>(
        lightning::DDPStrategyOptions{.process_group = owner->process_group});
  } else if (o.ddp != 0) {
    t.strategy = "ddp";
  }
  return t;
}

fulgur_trainer* trainer_of(fulgur_trainer* trainer) {
  require(trainer, "trainer");
  return trainer;
}

lightning::Trainer& running(fulgur_trainer* trainer, const char* what) {
  require(trainer, "trainer");
  if (trainer->module == nullptr || !trainer->trainer->fit_in_progress()) {
    fail(FULGUR_INVALID_ARGUMENT, std::string("no fit in progress for ") + what +
                                      "; hint: call fulgur_trainer_begin first (a failed step ends the fit)");
  }
  return *trainer->trainer;
}

Value batch_of(const fulgur_tensor* x, const fulgur_tensor* y) {
  require(x, "x");
  require(y, "y");
  return Value::list({model_input(x, "x"), y->tensor});
}

void create_trainer(const fulgur_trainer_options* options, std::shared_ptr<distributed::ProcessGroup> group,
                    fulgur_trainer** out) {
  require(options, "options");
  require(out, "out");
  auto handle = std::make_unique<fulgur_trainer>();
  handle->process_group = std::move(group);
  handle->trainer = std::make_unique<lightning::Trainer>(trainer_options(*options, handle.get()));
  *out = handle.release();
}

}  // namespace fulgur::capi

using namespace fulgur;
using namespace fulgur::capi;

extern "C" {

void fulgur_trainer_options_default(fulgur_trainer_options* options) {
  if (options == nullptr) return;
  *options = fulgur_trainer_options{};
  options->max_steps = -1;
  options->accumulate_grad_batches = 1;
  options->gradient_clip_val = 0;
  options->log_every_n_steps = 50;
  options->save_top_k = 1;
  options->early_stopping_patience = -1;
}

fulgur_status fulgur_trainer_create(const fulgur_trainer_options* options, fulgur_trainer** out) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] { create_trainer(options, nullptr, out); });
}

void fulgur_trainer_destroy(fulgur_trainer* trainer) { delete trainer; }

fulgur_status fulgur_trainer_begin(fulgur_trainer* trainer, fulgur_model* model, fulgur_optimizer* optimizer,
                                   fulgur_loss_kind loss, const char* ckpt_path) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    trainer_of(trainer);
    require(model, "model");
    require(optimizer, "optimizer");
    const int32_t kind = static_cast<int32_t>(loss);
    if (kind < FULGUR_LOSS_MSE || kind > FULGUR_LOSS_BCE_WITH_LOGITS) {
      fail(FULGUR_INVALID_ARGUMENT, "loss kind " + std::to_string(kind) + " is not a fulgur_loss_kind (0..4)");
    }
    if (trainer->trainer->fit_in_progress()) {
      fail(FULGUR_INVALID_ARGUMENT, "a fit is already in progress; hint: call fulgur_trainer_end first");
    }
    trainer->module = std::make_unique<CapiModule>(model, optimizer, kind, trainer);
    trainer->trainer->fit_begin(*trainer->module, {},
                                {.ckpt_path = ckpt_path != nullptr ? std::string(ckpt_path) : std::string()});
  });
}

fulgur_status fulgur_trainer_step(fulgur_trainer* trainer, const fulgur_tensor* x, const fulgur_tensor* y,
                                  double* loss) {
  return guarded(__func__, FULGUR_SHAPE_MISMATCH, [&] {
    lightning::Trainer& t = running(trainer, "fulgur_trainer_step");
    const double value = t.fit_step(batch_of(x, y));
    if (loss != nullptr) *loss = value;
  });
}

fulgur_status fulgur_trainer_validate(fulgur_trainer* trainer, const fulgur_tensor* x, const fulgur_tensor* y,
                                      double* val_loss) {
  return guarded(__func__, FULGUR_SHAPE_MISMATCH, [&] {
    lightning::Trainer& t = running(trainer, "fulgur_trainer_validate");
    require(x, "x");
    require(y, "y");
    auto ds = std::make_shared<data::TensorDataset>(model_input(x, "x"), y->tensor);
    const auto metrics = t.fit_validate(data::DataLoader(ds, {.batch_size = ds->size()}));
    if (val_loss != nullptr) {
      const auto it = metrics.find("val_loss");
      *val_loss = it == metrics.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
    }
  });
}

fulgur_status fulgur_trainer_epoch_end(fulgur_trainer* trainer) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT,
                 [&] { running(trainer, "fulgur_trainer_epoch_end").fit_epoch_end(); });
}

fulgur_status fulgur_trainer_end(fulgur_trainer* trainer) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    running(trainer, "fulgur_trainer_end").fit_end();
    trainer->module.reset();
  });
}

fulgur_status fulgur_trainer_should_stop(const fulgur_trainer* trainer, int32_t* stop) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(trainer, "trainer");
    require(stop, "stop");
    *stop = trainer->trainer->should_stop() ? 1 : 0;
  });
}

fulgur_status fulgur_trainer_global_step(const fulgur_trainer* trainer, int64_t* step) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(trainer, "trainer");
    require(step, "step");
    *step = trainer->trainer->global_step();
  });
}

fulgur_status fulgur_trainer_current_epoch(const fulgur_trainer* trainer, int64_t* epoch) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(trainer, "trainer");
    require(epoch, "epoch");
    *epoch = trainer->trainer->current_epoch();
  });
}

fulgur_status fulgur_trainer_save_checkpoint(fulgur_trainer* trainer, const char* path) {
  return guarded(__func__, FULGUR_IO_ERROR, [&] {
    require(path, "path");
    running(trainer, "fulgur_trainer_save_checkpoint").save_checkpoint(path);
  });
}

fulgur_status fulgur_trainer_set_lr_schedule(fulgur_trainer* trainer, fulgur_lr_schedule schedule, double param1,
                                             double param2, int64_t every_n_steps) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(trainer, "trainer");
    if (trainer->trainer->fit_in_progress()) {
      fail(FULGUR_INVALID_ARGUMENT, "a fit is in progress; hint: set the schedule before fulgur_trainer_begin");
    }
    const auto kind = static_cast<int32_t>(schedule);
    check_lr_schedule(kind, param1, param2, every_n_steps);
    trainer->lr_schedule = kind;
    trainer->lr_param1 = param1;
    trainer->lr_param2 = param2;
    trainer->lr_every_n_steps = every_n_steps;
  });
}

fulgur_status fulgur_trainer_set_callbacks(fulgur_trainer* trainer, fulgur_step_callback on_train_batch_end,
                                           fulgur_step_callback on_validation_end, void* user_data) {
  return guarded(__func__, FULGUR_INVALID_ARGUMENT, [&] {
    require(trainer, "trainer");
    trainer->on_train_batch_end = on_train_batch_end;
    trainer->on_validation_end = on_validation_end;
    trainer->user_data = user_data;
  });
}

}  // extern "C"
