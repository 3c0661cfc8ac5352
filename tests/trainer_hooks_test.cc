// Hook order of L::Trainer against Lightning's own hook-order test
// (tests/tests_pytorch/models/test_hooks.py in Lightning's repository): a module and a callback
// record every hook as it returns (Lightning's recorder appends after the call, so an inner
// hook such as forward precedes training_step). docs/TRAINER.md lists where the recorded
// names differ from Lightning's (zero_grad/train are not virtual in nn::Module). The default
// ModelCheckpoint saves at the end of each fit epoch, so Lightning's checkpoint entries
// (Callback.state_dict, Callback.on_save_checkpoint, on_save_checkpoint) follow the module's
// on_train_epoch_end; every Trainer writes under the test's temp dir.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

using Calls = std::vector<std::string>;

// Lightning's BoringModel: Linear(32, 2) on random data, 64 examples per loader.
class HookedModel : public L::LightningModule {
 public:
  explicit HookedModel(Calls* calls, bool automatic = true) : calls_(calls) {
    automatic_optimization(automatic);
    layer_ = register_module("layer", nn::Linear(32, 2));
    data_ = std::make_shared<data::TensorDataset>(randn({64, 32}));
  }
  void rec(const std::string& s) { calls_->push_back(s); }

  Tensor forward(const Tensor& x) override {
    Tensor out = (*layer_)(x);
    rec("forward");
    return out;
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    Tensor loss = forward(batch.tensor(0)).pow(2).mean();
    if (!automatic_optimization()) {
      L::LightningOptimizer opt = optimizer(0);
      opt.zero_grad();
      manual_backward(loss);
      rec("manual_backward");
      opt.step([this] {
        rec("closure");
        return Tensor();
      });
    }
    rec("training_step");
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    log("x", forward(batch.tensor(0)).pow(2).mean());
    rec("validation_step");
  }
  void test_step(const L::Batch& batch, int64_t) override {
    log("y", forward(batch.tensor(0)).pow(2).mean());
    rec("test_step");
  }
  Tensor predict_step(const L::Batch& batch, int64_t i) override {
    Tensor out = L::LightningModule::predict_step(batch, i);
    rec("predict_step");
    return out;
  }
  L::OptimizerConfig configure_optimizers() override {
    rec("configure_optimizers");
    auto opt = std::make_shared<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.1});
    return {opt, {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1})}};
  }
  std::vector<std::shared_ptr<L::Callback>> configure_callbacks() override {
    rec("configure_callbacks");
    return {};
  }
  void prepare_data() override { rec("prepare_data"); }
  L::Loaders train_dataloader() override { return loader("train_dataloader"); }
  L::Loaders val_dataloader() override { return loader("val_dataloader"); }
  L::Loaders test_dataloader() override { return loader("test_dataloader"); }
  L::Loaders predict_dataloader() override { return loader("predict_dataloader"); }
  L::Batch on_before_batch_transfer(L::Batch b, int64_t) override {
    return recorded(std::move(b), "on_before_batch_transfer");
  }
  L::Batch transfer_batch_to_device(L::Batch b, Device d, int64_t i) override {
    return recorded(L::LightningModule::transfer_batch_to_device(std::move(b), d, i), "transfer_batch_to_device");
  }
  L::Batch on_after_batch_transfer(L::Batch b, int64_t) override {
    return recorded(std::move(b), "on_after_batch_transfer");
  }

  void setup(const std::string& stage) override { rec("setup:" + stage); }
  void teardown(const std::string& stage) override { rec("teardown:" + stage); }
  void configure_model() override { rec("configure_model"); }
  void on_fit_start() override { rec("on_fit_start"); }
  void on_fit_end() override { rec("on_fit_end"); }
  void on_train_start() override { rec("on_train_start"); }
  void on_train_end() override { rec("on_train_end"); }
  void on_train_epoch_start() override { rec("on_train_epoch_start"); }
  void on_train_epoch_end() override { rec("on_train_epoch_end"); }
  int on_train_batch_start(const L::Batch&, int64_t) override {
    rec("on_train_batch_start");
    return 0;
  }
  void on_train_batch_end(const Value& out, const L::Batch&, int64_t) override {
    CHECK(out.contains("loss"));
    rec("on_train_batch_end");
  }
  void on_validation_start() override { rec("on_validation_start"); }
  void on_validation_end() override { rec("on_validation_end"); }
  void on_validation_epoch_start() override { rec("on_validation_epoch_start"); }
  void on_validation_epoch_end() override { rec("on_validation_epoch_end"); }
  void on_validation_batch_start(const L::Batch&, int64_t, int64_t) override { rec("on_validation_batch_start"); }
  void on_validation_batch_end(const Value&, const L::Batch&, int64_t, int64_t) override {
    rec("on_validation_batch_end");
  }
  void on_test_start() override { rec("on_test_start"); }
  void on_test_end() override { rec("on_test_end"); }
  void on_test_epoch_start() override { rec("on_test_epoch_start"); }
  void on_test_epoch_end() override { rec("on_test_epoch_end"); }
  void on_test_batch_start(const L::Batch&, int64_t, int64_t) override { rec("on_test_batch_start"); }
  void on_test_batch_end(const Value&, const L::Batch&, int64_t, int64_t) override { rec("on_test_batch_end"); }
  void on_predict_start() override { rec("on_predict_start"); }
  void on_predict_end() override { rec("on_predict_end"); }
  void on_predict_epoch_start() override { rec("on_predict_epoch_start"); }
  void on_predict_epoch_end() override { rec("on_predict_epoch_end"); }
  void on_predict_batch_start(const L::Batch&, int64_t, int64_t) override { rec("on_predict_batch_start"); }
  void on_predict_batch_end(const Value&, const L::Batch&, int64_t, int64_t) override { rec("on_predict_batch_end"); }
  void on_validation_model_zero_grad() override {
    L::LightningModule::on_validation_model_zero_grad();
    rec("on_validation_model_zero_grad");
  }
  void on_validation_model_eval() override {
    L::LightningModule::on_validation_model_eval();
    rec("on_validation_model_eval");
  }
  void on_validation_model_train() override {
    L::LightningModule::on_validation_model_train();
    rec("on_validation_model_train");
  }
  void on_test_model_eval() override {
    L::LightningModule::on_test_model_eval();
    rec("on_test_model_eval");
  }
  void on_test_model_train() override {
    L::LightningModule::on_test_model_train();
    rec("on_test_model_train");
  }
  void on_predict_model_eval() override {
    L::LightningModule::on_predict_model_eval();
    rec("on_predict_model_eval");
  }
  void on_before_zero_grad(optim::Optimizer&) override { rec("on_before_zero_grad"); }
  void optimizer_zero_grad(int64_t e, int64_t b, optim::Optimizer& o) override {
    L::LightningModule::optimizer_zero_grad(e, b, o);
    rec("optimizer_zero_grad");
  }
  void on_before_backward(const Tensor&) override { rec("on_before_backward"); }
  void backward(const Tensor& loss) override {
    L::LightningModule::backward(loss);
    rec("backward");
  }
  void on_after_backward() override { rec("on_after_backward"); }
  void on_before_optimizer_step(optim::Optimizer&) override { rec("on_before_optimizer_step"); }
  void clip_gradients(optim::Optimizer& o, std::optional<double> v, std::optional<std::string> a) override {
    L::LightningModule::clip_gradients(o, v, a);
    rec("clip_gradients");
  }
  void configure_gradient_clipping(optim::Optimizer& o, std::optional<double> v,
                                   std::optional<std::string> a) override {
    L::LightningModule::configure_gradient_clipping(o, v, a);
    rec("configure_gradient_clipping");
  }
  void optimizer_step(int64_t e, int64_t b, optim::Optimizer& o, const std::function<Tensor()>& closure) override {
    L::LightningModule::optimizer_step(e, b, o, closure);
    rec("optimizer_step");
  }
  void on_save_checkpoint(Value&) override { rec("on_save_checkpoint"); }
  void on_load_checkpoint(const Value& ck) override {
    CHECK(ck.at("epoch").as_int() == 0);  // ModelCheckpoint's save at the end of epoch 0 (Lightning: "epoch": 0)
    rec("on_load_checkpoint");
  }
  void lr_scheduler_step(L::Scheduler& s, std::optional<double> m) override {
    L::LightningModule::lr_scheduler_step(s, m);
    rec("lr_scheduler_step");
  }

 private:
  L::Loaders loader(const std::string& hook) {
    rec(hook);
    return data::DataLoader(data_, {.batch_size = 1});
  }
  L::Batch recorded(L::Batch b, const std::string& hook) {
    rec(hook);
    return b;
  }

  Calls* calls_;
  std::shared_ptr<nn::Linear> layer_;
  std::shared_ptr<data::TensorDataset> data_;
};

struct HookedCallback : L::Callback {
  explicit HookedCallback(Calls* calls) : calls(calls) {}
  void rec(const std::string& s) { calls->push_back("Callback." + s); }
  void setup(L::Trainer&, L::LightningModule&, const std::string& stage) override { rec("setup:" + stage); }
  void teardown(L::Trainer&, L::LightningModule&, const std::string& stage) override { rec("teardown:" + stage); }
  void on_fit_start(L::Trainer&, L::LightningModule&) override { rec("on_fit_start"); }
  void on_fit_end(L::Trainer&, L::LightningModule&) override { rec("on_fit_end"); }
  void on_sanity_check_start(L::Trainer&, L::LightningModule&) override { rec("on_sanity_check_start"); }
  void on_sanity_check_end(L::Trainer&, L::LightningModule&) override { rec("on_sanity_check_end"); }
  void on_train_start(L::Trainer&, L::LightningModule&) override { rec("on_train_start"); }
  void on_train_end(L::Trainer&, L::LightningModule&) override { rec("on_train_end"); }
  void on_train_epoch_start(L::Trainer&, L::LightningModule&) override { rec("on_train_epoch_start"); }
  void on_train_epoch_end(L::Trainer&, L::LightningModule&) override { rec("on_train_epoch_end"); }
  void on_train_batch_start(L::Trainer&, L::LightningModule&, const L::Batch&, int64_t) override {
    rec("on_train_batch_start");
  }
  void on_train_batch_end(L::Trainer&, L::LightningModule&, const Value&, const L::Batch&, int64_t) override {
    rec("on_train_batch_end");
  }
  void on_validation_start(L::Trainer&, L::LightningModule&) override { rec("on_validation_start"); }
  void on_validation_end(L::Trainer&, L::LightningModule&) override { rec("on_validation_end"); }
  void on_validation_epoch_start(L::Trainer&, L::LightningModule&) override { rec("on_validation_epoch_start"); }
  void on_validation_epoch_end(L::Trainer&, L::LightningModule&) override { rec("on_validation_epoch_end"); }
  void on_validation_batch_start(L::Trainer&, L::LightningModule&, const L::Batch&, int64_t, int64_t) override {
    rec("on_validation_batch_start");
  }
  void on_validation_batch_end(L::Trainer&, L::LightningModule&, const Value&, const L::Batch&, int64_t,
                               int64_t) override {
    rec("on_validation_batch_end");
  }
  void on_test_start(L::Trainer&, L::LightningModule&) override { rec("on_test_start"); }
  void on_test_end(L::Trainer&, L::LightningModule&) override { rec("on_test_end"); }
  void on_test_epoch_start(L::Trainer&, L::LightningModule&) override { rec("on_test_epoch_start"); }
  void on_test_epoch_end(L::Trainer&, L::LightningModule&) override { rec("on_test_epoch_end"); }
  void on_test_batch_start(L::Trainer&, L::LightningModule&, const L::Batch&, int64_t, int64_t) override {
    rec("on_test_batch_start");
  }
  void on_test_batch_end(L::Trainer&, L::LightningModule&, const Value&, const L::Batch&, int64_t, int64_t) override {
    rec("on_test_batch_end");
  }
  void on_predict_start(L::Trainer&, L::LightningModule&) override { rec("on_predict_start"); }
  void on_predict_end(L::Trainer&, L::LightningModule&) override { rec("on_predict_end"); }
  void on_predict_epoch_start(L::Trainer&, L::LightningModule&) override { rec("on_predict_epoch_start"); }
  void on_predict_epoch_end(L::Trainer&, L::LightningModule&) override { rec("on_predict_epoch_end"); }
  void on_predict_batch_start(L::Trainer&, L::LightningModule&, const L::Batch&, int64_t, int64_t) override {
    rec("on_predict_batch_start");
  }
  void on_predict_batch_end(L::Trainer&, L::LightningModule&, const Value&, const L::Batch&, int64_t,
                            int64_t) override {
    rec("on_predict_batch_end");
  }
  void on_before_backward(L::Trainer&, L::LightningModule&, const Tensor&) override { rec("on_before_backward"); }
  void on_after_backward(L::Trainer&, L::LightningModule&) override { rec("on_after_backward"); }
  void on_before_optimizer_step(L::Trainer&, L::LightningModule&, optim::Optimizer&) override {
    rec("on_before_optimizer_step");
  }
  void on_before_zero_grad(L::Trainer&, L::LightningModule&, optim::Optimizer&) override {
    rec("on_before_zero_grad");
  }
  void on_save_checkpoint(L::Trainer&, L::LightningModule&, Value&) override { rec("on_save_checkpoint"); }
  void on_load_checkpoint(L::Trainer&, L::LightningModule&, const Value& ck) override {
    CHECK(ck.at("global_step").as_int() == 2);
    rec("on_load_checkpoint");
  }
  Value state_dict() const override {
    calls->push_back("Callback.state_dict");
    return Value::dict({{"foo", true}});
  }
  void load_state_dict(const Value& state) override {
    CHECK(state.at("foo").as_bool());
    rec("load_state_dict");
  }
  Calls* calls;
};

void append(Calls& out, const Calls& more) { out.insert(out.end(), more.begin(), more.end()); }

// A fresh default_root_dir under Bazel's per-test directory.
std::string root_dir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::filesystem::path root =
      (dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path()) / ("fulgur_hooks_" + name);
  std::filesystem::remove_all(root);
  return root.string();
}

// What ModelCheckpoint's save adds (trainer.save_checkpoint: the callbacks' state_dict and
// on_save_checkpoint, then the module's on_save_checkpoint).
Calls checkpoint_save() { return {"Callback.state_dict", "Callback.on_save_checkpoint", "on_save_checkpoint"}; }

Calls transfer() { return {"on_before_batch_transfer", "transfer_batch_to_device", "on_after_batch_transfer"}; }

// Lightning's _auto_train_batch, with accumulation: zero_grad on the first micro-batch of a
// window, the optimizer hooks on its last (and on the epoch's last batch).
Calls auto_train_batches(int64_t batches, int64_t accumulate = 1) {
  Calls out;
  for (int64_t i = 0; i < batches; ++i) {
    append(out, transfer());
    append(out, {"Callback.on_train_batch_start", "on_train_batch_start", "forward", "training_step"});
    if (i % accumulate == 0)
      append(out, {"Callback.on_before_zero_grad", "on_before_zero_grad", "optimizer_zero_grad"});
    append(out, {"Callback.on_before_backward", "on_before_backward", "backward", "Callback.on_after_backward",
                 "on_after_backward"});
    const bool step = (i + 1) % accumulate == 0 || i + 1 == batches;
    if (step) {
      append(out, {"Callback.on_before_optimizer_step", "on_before_optimizer_step", "clip_gradients",
                   "configure_gradient_clipping", "optimizer_step"});
    }
    if (i + 1 == batches) out.push_back("lr_scheduler_step");  // StepLR, interval "epoch"
    append(out, {"Callback.on_train_batch_end", "on_train_batch_end"});
  }
  return out;
}

// Lightning's _manual_train_batch.
Calls manual_train_batches(int64_t batches) {
  Calls out;
  for (int64_t i = 0; i < batches; ++i) {
    append(out, transfer());
    append(out, {"Callback.on_train_batch_start", "on_train_batch_start", "forward", "Callback.on_before_backward",
                 "on_before_backward", "backward", "Callback.on_after_backward", "on_after_backward",
                 "manual_backward", "closure", "Callback.on_before_optimizer_step", "on_before_optimizer_step",
                 "training_step", "Callback.on_train_batch_end", "on_train_batch_end"});
  }
  return out;
}

// Lightning's _eval_epoch wrapped in its start/end hooks; "train(False)" is our
// on_*_model_eval, and on_*_model_train is recorded where Lightning restores the mode.
Calls eval_run(const std::string& fn, int64_t batches) {
  Calls out = {"on_" + fn + "_model_eval", "Callback.on_" + fn + "_start", "on_" + fn + "_start",
               "Callback.on_" + fn + "_epoch_start", "on_" + fn + "_epoch_start"};
  for (int64_t i = 0; i < batches; ++i) {
    append(out, transfer());
    append(out, {"Callback.on_" + fn + "_batch_start", "on_" + fn + "_batch_start", "forward", fn + "_step",
                 "Callback.on_" + fn + "_batch_end", "on_" + fn + "_batch_end"});
  }
  append(out, {"Callback.on_" + fn + "_epoch_end", "on_" + fn + "_epoch_end", "Callback.on_" + fn + "_end",
               "on_" + fn + "_end", "on_" + fn + "_model_train"});
  return out;
}

Calls fit_prologue() {
  return {"configure_callbacks", "prepare_data",   "Callback.setup:fit", "setup:fit", "configure_model",
          "configure_optimizers", "Callback.on_fit_start", "on_fit_start"};
}

Calls fit_epilogue() {
  return {"Callback.on_train_end", "on_train_end", "Callback.on_fit_end", "on_fit_end", "Callback.teardown:fit",
          "teardown:fit"};
}

void check_sequence(const Calls& got, const Calls& expected) {
  const size_t n = std::min(got.size(), expected.size());
  for (size_t i = 0; i < n; ++i) {
    INFO("call #", i);
    REQUIRE(got[i] == expected[i]);
  }
  CHECK(got.size() == expected.size());
}

}  // namespace

TEST_CASE("hooks: fit with validation and sanity check (test_trainer_model_hook_system_fit)") {
  for (const bool automatic : {true, false}) {
    CAPTURE(automatic);
    Calls called;
    HookedModel model(&called, automatic);
    L::Trainer trainer({.callbacks = {std::make_shared<HookedCallback>(&called)},
                        .max_epochs = 1,
                        .limit_train_batches = 2,
                        .limit_val_batches = 2,
                        .enable_progress_bar = false,
                        .enable_model_summary = false,
                        .default_root_dir = root_dir(automatic ? "fit_auto" : "fit_manual")});
    trainer.fit(model);
    Calls expected = fit_prologue();
    // Lightning: "zero_grad" here (nn::Module::zero_grad is not a hook in C++).
    append(expected, {"Callback.on_sanity_check_start", "val_dataloader"});
    append(expected, eval_run("validation", 2));
    append(expected, {"Callback.on_sanity_check_end", "train_dataloader", "Callback.on_train_start", "on_train_start",
                      "Callback.on_train_epoch_start", "on_train_epoch_start"});
    append(expected, automatic ? auto_train_batches(2) : manual_train_batches(2));
    expected.push_back("on_validation_model_zero_grad");
    append(expected, eval_run("validation", 2));
    append(expected, {"Callback.on_train_epoch_end", "on_train_epoch_end"});
    append(expected, checkpoint_save());  // the default ModelCheckpoint, a monitoring callback
    append(expected, fit_epilogue());
    check_sequence(called, expected);
    CHECK(trainer.global_step() == 2);
    CHECK(trainer.current_epoch() == 1);
    CHECK(trainer.state().finished());
  }
}

TEST_CASE("hooks: fit with accumulate_grad_batches=2 and no validation") {
  Calls called;
  HookedModel model(&called);
  L::Trainer trainer({.callbacks = {std::make_shared<HookedCallback>(&called)},
                      .max_epochs = 1,
                      .limit_train_batches = 5,
                      .limit_val_batches = 0,
                      .enable_progress_bar = false,
                      .accumulate_grad_batches = 2,
                      .default_root_dir = root_dir("accumulate")});
  trainer.fit(model);
  Calls expected = fit_prologue();
  append(expected, {"train_dataloader", "Callback.on_train_start", "on_train_start", "Callback.on_train_epoch_start",
                    "on_train_epoch_start"});
  append(expected, auto_train_batches(5, 2));
  // No validation: ModelCheckpoint saves at the train epoch end.
  append(expected, {"Callback.on_train_epoch_end", "on_train_epoch_end"});
  append(expected, checkpoint_save());
  append(expected, fit_epilogue());
  check_sequence(called, expected);
  CHECK(trainer.global_step() == 3);  // windows [0,1], [2,3], and the epoch's last batch alone
}

TEST_CASE("hooks: fast_dev_run=1 (no sanity check; val_dataloader asked for inside the first validation)") {
  Calls called;
  HookedModel model(&called);
  L::Trainer trainer({.callbacks = {std::make_shared<HookedCallback>(&called)},
                      .fast_dev_run = 1,
                      .enable_progress_bar = false,
                      .default_root_dir = root_dir("fast_dev_run")});
  trainer.fit(model);
  Calls expected = fit_prologue();
  append(expected, {"train_dataloader", "Callback.on_train_start", "on_train_start", "Callback.on_train_epoch_start",
                    "on_train_epoch_start"});
  append(expected, auto_train_batches(1));
  append(expected, {"on_validation_model_zero_grad", "val_dataloader"});
  append(expected, eval_run("validation", 1));
  append(expected, {"Callback.on_train_epoch_end", "on_train_epoch_end"});  // fast_dev_run: no checkpoint
  append(expected, fit_epilogue());
  check_sequence(called, expected);
  CHECK(trainer.global_step() == 1);
  REQUIRE(trainer.checkpoint_callback() != nullptr);  // Lightning adds it; it saves nothing here
  CHECK(trainer.checkpoint_callback()->best_model_path().empty());
  CHECK(!std::filesystem::exists(std::filesystem::path(trainer.default_root_dir()) / "checkpoints"));
}

TEST_CASE("hooks: validate and test (test_trainer_model_hook_system_eval)") {
  for (const int64_t batches : {0, 2}) {
    for (const bool test : {false, true}) {
      CAPTURE(batches);
      CAPTURE(test);
      Calls called;
      HookedModel model(&called);
      L::Trainer trainer({.callbacks = {std::make_shared<HookedCallback>(&called)},
                          .max_epochs = 1,
                          .limit_val_batches = batches,
                          .limit_test_batches = batches,
                          .enable_progress_bar = false,
                          .default_root_dir = root_dir("eval")});
      const std::string verb = test ? "test" : "validate";
      const std::string noun = test ? "test" : "validation";
      const auto results = test ? trainer.test(model, {}, {.verbose = false})
                                : trainer.validate(model, {}, {.verbose = false});
      Calls expected = {"configure_callbacks", "prepare_data", "Callback.setup:" + verb, "setup:" + verb,
                        "configure_model"};
      if (batches > 0) {
        expected.push_back(test ? "test_dataloader" : "val_dataloader");
        append(expected, eval_run(noun, batches));
      }
      append(expected, {"Callback.teardown:" + verb, "teardown:" + verb});
      check_sequence(called, expected);
      if (batches > 0) {
        REQUIRE(results.size() == 1);
        CHECK(results[0].count(test ? "y" : "x") == 1);
      } else {
        CHECK(results.empty());
      }
    }
  }
}

TEST_CASE("hooks: predict (test_trainer_model_hook_system_predict)") {
  Calls called;
  HookedModel model(&called);
  L::Trainer trainer({.callbacks = {std::make_shared<HookedCallback>(&called)},
                      .limit_predict_batches = 2,
                      .enable_progress_bar = false,
                      .default_root_dir = root_dir("predict")});
  const std::vector<Tensor> preds = trainer.predict(model);
  Calls expected = {"configure_callbacks", "prepare_data", "Callback.setup:predict", "setup:predict",
                    "configure_model", "predict_dataloader", "on_predict_model_eval", "Callback.on_predict_start",
                    "on_predict_start", "Callback.on_predict_epoch_start", "on_predict_epoch_start"};
  for (int i = 0; i < 2; ++i) {
    append(expected, transfer());
    append(expected, {"Callback.on_predict_batch_start", "on_predict_batch_start", "forward", "predict_step",
                      "Callback.on_predict_batch_end", "on_predict_batch_end"});
  }
  append(expected, {"Callback.on_predict_epoch_end", "on_predict_epoch_end", "Callback.on_predict_end",
                    "on_predict_end", "Callback.teardown:predict", "teardown:predict"});
  check_sequence(called, expected);
  REQUIRE(preds.size() == 2);
  CHECK(preds[0].size(0) == 1);
  CHECK(preds[0].size(1) == 2);
}

TEST_CASE("hooks: resume without validation (test_trainer_model_hook_system_fit_no_val_and_resume_max_epochs)") {
  const std::string root = root_dir("resume");
  std::string best_model_path;
  {
    Calls ignored;
    HookedModel model(&ignored);
    L::Trainer trainer({.callbacks = {std::make_shared<HookedCallback>(&ignored)},
                        .max_epochs = 1,
                        .limit_train_batches = 2,
                        .limit_val_batches = 0,
                        .enable_progress_bar = false,
                        .default_root_dir = root});
    trainer.fit(model);
    best_model_path = trainer.checkpoint_callback()->best_model_path();
    CHECK(best_model_path == (std::filesystem::path(*trainer.checkpoint_callback()->dirpath()) / "epoch=0-step=2.ckpt")
                                 .string());
    ignored.clear();
    trainer.save_checkpoint(root + "/manual.ckpt");  // the same hooks as ModelCheckpoint's saves
    CHECK(ignored == checkpoint_save());
  }
  Calls called;
  HookedModel model(&called);
  L::Trainer trainer({.callbacks = {std::make_shared<HookedCallback>(&called)},
                      .max_epochs = 2,
                      .limit_train_batches = 2,
                      .limit_val_batches = 0,
                      .enable_progress_bar = false,
                      .default_root_dir = root});
  trainer.fit(model, {}, {}, {.ckpt_path = best_model_path});
  Calls expected = {"configure_callbacks", "prepare_data", "Callback.setup:fit", "setup:fit", "on_load_checkpoint",
                    "Callback.on_load_checkpoint", "Callback.load_state_dict", "configure_model",
                    "configure_optimizers", "Callback.on_fit_start", "on_fit_start", "train_dataloader",
                    "Callback.on_train_start", "on_train_start", "Callback.on_train_epoch_start",
                    "on_train_epoch_start"};
  append(expected, auto_train_batches(2));
  append(expected, {"Callback.on_train_epoch_end", "on_train_epoch_end"});
  append(expected, checkpoint_save());
  append(expected, fit_epilogue());
  check_sequence(called, expected);
  CHECK(trainer.global_step() == 4);
  CHECK(trainer.current_epoch() == 2);
  CHECK(trainer.ckpt_path() == best_model_path);
  // The checkpoint the fit resumed from is kept although it is no longer the latest.
  CHECK(std::filesystem::exists(best_model_path));
  CHECK(trainer.checkpoint_callback()->best_model_path() ==
        (std::filesystem::path(*trainer.checkpoint_callback()->dirpath()) / "epoch=1-step=4.ckpt").string());
}
