// Trainer.validate / test / predict and the validation run inside fit: Lightning's
// _EvaluationLoop and _PredictionLoop.
#include <cstdio>
#include <iostream>
#include <optional>

#include "fulgur/autograd/autograd.h"
#include "fulgur/kernels/error.h"
#include "fulgur/trainer/rank_zero.h"
#include "fulgur/trainer/trainer.h"

namespace fulgur::lightning {

std::vector<std::map<std::string, double>> Trainer::run_evaluation(Stage stage, bool in_fit) {
  const bool test = stage == Stage::Test;
  const bool sanity = in_fit && sanity_checking();
  if (in_fit) ensure_val_loaders();
  Loaders& loaders = in_fit ? val_loaders_ : eval_loaders_;
  if (loaders.empty()) return {};
  const BatchLimit& limit = test ? options_.limit_test_batches : options_.limit_val_batches;
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (size_t i = 0; i < loaders.size(); ++i) {
    int64_t n = limit.apply(loaders[i].size(), test ? "limit_test_batches" : "limit_val_batches");
    if (sanity && *options_.num_sanity_val_steps != -1) n = std::min(n, *options_.num_sanity_val_steps);
    counts.push_back(n);
    total += n;
  }
  if (!test) num_val_batches_ = counts;
  else num_test_batches_ = counts;
  if (total == 0) return {};

  const std::string previous_stage = state_.stage;
  detail::ResultCollection* previous_results = results_;
  if (!sanity) state_.stage = test ? "test" : "validate";
  eval_results_->reset();
  results_ = eval_results_.get();
  num_current_loaders_ = static_cast<int64_t>(loaders.size());
  // Lightning's _evaluation_context: torch.inference_mode() or torch.no_grad() per the option.
  std::optional<InferenceMode> inference;
  std::optional<NoGradGuard> no_grad;
  if (options_.inference_mode) inference.emplace();
  else no_grad.emplace();
  LightningModule& m = *model_;
  set_fx(test ? "on_test_model_eval" : "on_validation_model_eval");
  module_do([&] { test ? m.on_test_model_eval() : m.on_validation_model_eval(); });
  set_fx(test ? "on_test_start" : "on_validation_start");
  callbacks_do([&](Callback& c) { test ? c.on_test_start(*this, m) : c.on_validation_start(*this, m); });
  module_do([&] { test ? m.on_test_start() : m.on_validation_start(); });
  strategy_do(test ? "on_test_start" : "on_validation_start", [] {});  // (no-ops here; Lightning times them)
  set_fx(test ? "on_test_epoch_start" : "on_validation_epoch_start");
  callbacks_do([&](Callback& c) { test ? c.on_test_epoch_start(*this, m) : c.on_validation_epoch_start(*this, m); });
  module_do([&] { test ? m.on_test_epoch_start() : m.on_validation_epoch_start(); });
  const char* fetch_action = test ? "[_EvaluationLoop].test_next" : "[_EvaluationLoop].val_next";

  for (size_t dl = 0; dl < loaders.size(); ++dl) {
    const auto dl_idx = static_cast<int64_t>(dl);
    current_dataloader_idx_ = dl_idx;
    if (counts[dl] == 0) continue;
    auto fetch_scope = std::make_optional(profile(fetch_action));  // the first batch comes with begin()
    auto it = loaders[dl].begin();
    fetch_scope.reset();
    for (int64_t i = 0; i < counts[dl] && !(it == loaders[dl].end()); ++i) {
      Batch batch = transfer(*it, dl_idx);
      current_batch_size_ = batch.batch_size();
      set_fx(test ? "on_test_batch_start" : "on_validation_batch_start");
      callbacks_do([&](Callback& c) {
        test ? c.on_test_batch_start(*this, m, batch, i, dl_idx)
             : c.on_validation_batch_start(*this, m, batch, i, dl_idx);
      });
      module_do([&] {
        test ? m.on_test_batch_start(batch, i, dl_idx) : m.on_validation_batch_start(batch, i, dl_idx);
      });
      set_fx(test ? "test_step" : "validation_step");
      try {
        const auto precision_context = precision_plugin_->forward_context();  // autocast for "bf16-mixed"
        strategy_do(test ? "test_step" : "validation_step", [&] {
          test ? m.test_step(batch, i, dl_idx) : m.validation_step(batch, i, dl_idx);
        });
      } catch (const detail::HookNotOverridden&) {
        FULGUR_CHECK(in_fit, test ? "Trainer.test" : "Trainer.validate", "No `", test ? "test" : "validation",
                     "_step()` method defined to run `Trainer.", test ? "test" : "validate",
                     "`; hint: override it in ", m.name());
        // fit with val loaders but no validation_step: Lightning skips the val loop.
        rank_zero_printf("warning: You passed in a `val_dataloader` but have no `validation_step`. Skipping "
                         "val loop.\n");
        has_validation_step_ = false;
        results_ = previous_results;
        state_.stage = previous_stage;
        m.on_validation_model_train();
        return {};
      }
      const Value outputs;  // our eval steps return nothing (Lightning passes what the step returned)
      set_fx(test ? "on_test_batch_end" : "on_validation_batch_end");
      callbacks_do([&](Callback& c) {
        test ? c.on_test_batch_end(*this, m, outputs, batch, i, dl_idx)
             : c.on_validation_batch_end(*this, m, outputs, batch, i, dl_idx);
      });
      module_do([&] {
        test ? m.on_test_batch_end(outputs, batch, i, dl_idx) : m.on_validation_batch_end(outputs, batch, i, dl_idx);
      });
      if (!sanity) publish(eval_results_->metrics(true), true);
      check_interrupt();
      if (i + 1 < counts[dl]) {
        const profilers::ProfileScope scope = profile(fetch_action);
        ++it;
      }
    }
  }

  set_fx(test ? "on_test_epoch_end" : "on_validation_epoch_end");
  callbacks_do([&](Callback& c) { test ? c.on_test_epoch_end(*this, m) : c.on_validation_epoch_end(*this, m); });
  module_do([&] { test ? m.on_test_epoch_end() : m.on_validation_epoch_end(); });
  std::vector<std::map<std::string, double>> results(loaders.size());
  if (!sanity) {
    detail::MetricViews epoch = eval_results_->metrics(false);
    publish(epoch, true);
    for (const auto& [key, value] : epoch.log) {
      const size_t pos = key.find("/dataloader_idx_");
      for (size_t dl = 0; dl < loaders.size(); ++dl) {
        if (pos == std::string::npos || key.substr(pos + 16) == std::to_string(dl)) results[dl][key] = value;
      }
    }
  }
  set_fx(test ? "on_test_end" : "on_validation_end");
  callbacks_do([&](Callback& c) { test ? c.on_test_end(*this, m) : c.on_validation_end(*this, m); });
  module_do([&] { test ? m.on_test_end() : m.on_validation_end(); });
  strategy_do(test ? "on_test_end" : "on_validation_end", [] {});
  // Lightning's reset_results at the end of a loop run: metric objects logged here start the
  // next run (the fit's next validation, or a later test with the same metric) empty.
  eval_results_->reset();
  set_fx(test ? "on_test_model_train" : "on_validation_model_train");
  // Not timed: Lightning calls (and times) this hook only when it is overridden, which C++
  // cannot tell.
  if (test) m.on_test_model_train();
  else m.on_validation_model_train();
  num_current_loaders_ = 1;
  current_dataloader_idx_ = 0;
  results_ = previous_results;
  state_.stage = previous_stage;
  return results;
}

std::vector<std::map<std::string, double>> Trainer::eval_entry(LightningModule& model, LightningDataModule* dm,
                                                               Loaders loaders, Stage stage,
                                                               const EvalOptions& options) {
  const bool test = stage == Stage::Test;
  const std::string verb = test ? "test" : "validate";
  begin_run(model, dm, verb);
  eval_loaders_ = std::move(loaders);
  std::vector<std::map<std::string, double>> results;
  run_guarded([&] {
    ckpt_path_ = select_ckpt_path(verb, options.ckpt_path);
    setup_callbacks();
    call_setup(verb);
    // Lightning restores the module, the datamodule and the callbacks, not the training state.
    if (!ckpt_path_.empty()) {
      restore_modules_and_callbacks(resume_start());
      rank_zero_printf("Loaded model weights from the checkpoint at %s\n", ckpt_path_.c_str());
    }
    call_configure_model();
    log_hyperparams();
    model_->zero_grad();
    const BatchLimit& limit = test ? options_.limit_test_batches : options_.limit_val_batches;
    const bool disabled = limit.is_count() ? limit.count() == 0 : limit.fraction() == 0;
    // Lightning does not even ask for the loaders when the limit is 0.
    if (eval_loaders_.empty() && !disabled) eval_loaders_ = request_loaders(test ? "test" : "val", true);
    eval_loaders_ = distributed_loaders(std::move(eval_loaders_), test ? "test" : "val");
    if (!disabled) results = run_evaluation(stage, false);
    call_teardown(verb);
  });
  eval_loaders_ = {};
  if (options.verbose && is_global_zero()) print_results(test ? "Test" : "Validate", results);
  return results;
}

void Trainer::print_results(const std::string& stage, const std::vector<std::map<std::string, double>>& results) const {
  for (size_t dl = 0; dl < results.size(); ++dl) {
    std::cout << stage << " metric (dataloader " << dl << ")" << std::endl;
    for (const auto& [k, v] : results[dl]) std::cout << "  " << k << ": " << v << std::endl;
  }
}

std::vector<std::map<std::string, double>> Trainer::validate(LightningModule& model, Loaders dataloaders,
                                                             EvalOptions options) {
  return eval_entry(model, nullptr, std::move(dataloaders), Stage::Validate, options);
}
std::vector<std::map<std::string, double>> Trainer::validate(LightningModule& model, LightningDataModule& datamodule,
                                                             EvalOptions options) {
  return eval_entry(model, &datamodule, {}, Stage::Validate, options);
}
std::vector<std::map<std::string, double>> Trainer::test(LightningModule& model, Loaders dataloaders,
                                                         EvalOptions options) {
  return eval_entry(model, nullptr, std::move(dataloaders), Stage::Test, options);
}
std::vector<std::map<std::string, double>> Trainer::test(LightningModule& model, LightningDataModule& datamodule,
                                                         EvalOptions options) {
  return eval_entry(model, &datamodule, {}, Stage::Test, options);
}

std::vector<Tensor> Trainer::predict_entry(LightningModule& model, LightningDataModule* dm, Loaders loaders,
                                           const PredictOptions& options) {
  begin_run(model, dm, "predict");
  eval_loaders_ = std::move(loaders);
  std::vector<Tensor> predictions;
  run_guarded([&] {
    ckpt_path_ = select_ckpt_path("predict", options.ckpt_path);
    setup_callbacks();
    call_setup("predict");
    if (!ckpt_path_.empty()) {
      restore_modules_and_callbacks(resume_start());
      rank_zero_printf("Loaded model weights from the checkpoint at %s\n", ckpt_path_.c_str());
    }
    call_configure_model();
    log_hyperparams();
    model_->zero_grad();
    if (eval_loaders_.empty()) eval_loaders_ = request_loaders("predict", true);
    eval_loaders_ = distributed_loaders(std::move(eval_loaders_), "predict");
    LightningModule& m = *model_;
    std::vector<int64_t> counts;
    int64_t total = 0;
    for (size_t i = 0; i < eval_loaders_.size(); ++i) {
      counts.push_back(options_.limit_predict_batches.apply(eval_loaders_[i].size(), "limit_predict_batches"));
      total += counts.back();
    }
    num_predict_batches_ = counts;
    if (total > 0) {
      state_.stage = "predict";
      std::optional<InferenceMode> inference;
      std::optional<NoGradGuard> no_grad;
      if (options_.inference_mode) inference.emplace();
      else no_grad.emplace();
      set_fx("on_predict_model_eval");
      module_do([&] { m.on_predict_model_eval(); });
      set_fx("on_predict_start");
      callbacks_do([&](Callback& c) { c.on_predict_start(*this, m); });
      module_do([&] { m.on_predict_start(); });
      strategy_do("on_predict_start", [] {});
      set_fx("on_predict_epoch_start");
      callbacks_do([&](Callback& c) { c.on_predict_epoch_start(*this, m); });
      module_do([&] { m.on_predict_epoch_start(); });
      for (size_t dl = 0; dl < eval_loaders_.size(); ++dl) {
        const auto dl_idx = static_cast<int64_t>(dl);
        if (counts[dl] == 0) continue;
        auto fetch_scope = std::make_optional(profile("[_PredictionLoop].predict_next"));
        auto it = eval_loaders_[dl].begin();
        fetch_scope.reset();
        for (int64_t i = 0; i < counts[dl] && !(it == eval_loaders_[dl].end()); ++i) {
          Batch batch = transfer(*it, dl_idx);
          set_fx("on_predict_batch_start");
          callbacks_do([&](Callback& c) { c.on_predict_batch_start(*this, m, batch, i, dl_idx); });
          module_do([&] { m.on_predict_batch_start(batch, i, dl_idx); });
          set_fx("predict_step");
          Tensor out;
          {
            const auto precision_context = precision_plugin_->forward_context();  // autocast for "bf16-mixed"
            out = strategy_do("predict_step", [&] { return m.predict_step(batch, i, dl_idx); });
          }
          predictions.push_back(out);
          const Value outputs(out);
          set_fx("on_predict_batch_end");
          callbacks_do([&](Callback& c) { c.on_predict_batch_end(*this, m, outputs, batch, i, dl_idx); });
          module_do([&] { m.on_predict_batch_end(outputs, batch, i, dl_idx); });
          check_interrupt();
          if (i + 1 < counts[dl]) {
            const profilers::ProfileScope scope = profile("[_PredictionLoop].predict_next");
            ++it;
          }
        }
      }
      set_fx("on_predict_epoch_end");
      callbacks_do([&](Callback& c) { c.on_predict_epoch_end(*this, m); });
      module_do([&] { m.on_predict_epoch_end(); });
      set_fx("on_predict_end");
      callbacks_do([&](Callback& c) { c.on_predict_end(*this, m); });
      module_do([&] { m.on_predict_end(); });
      strategy_do("on_predict_end", [] {});
    }
    call_teardown("predict");
  });
  eval_loaders_ = {};
  return predictions;
}

std::vector<Tensor> Trainer::predict(LightningModule& model, Loaders dataloaders, PredictOptions options) {
  return predict_entry(model, nullptr, std::move(dataloaders), options);
}
std::vector<Tensor> Trainer::predict(LightningModule& model, LightningDataModule& datamodule, PredictOptions options) {
  return predict_entry(model, &datamodule, {}, options);
}

}  // namespace fulgur::lightning
