// L::Trainer.fit/validate/test: training reaches the achievable loss, Lightning's logging
// semantics (keys, weighted epoch means, reductions, metric objects), batch limits,
// max_steps, val_check_interval, accumulation (checked against a hand-written loop),
// gradient clipping, LR schedulers, and the errors Lightning raises.
#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

// The default ModelCheckpoint (and logger) of Trainers without default_root_dir write into the
// current directory: make it this test's temp dir.
[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

using fulgur::testing::regression_data;  // y = x . [1, -2, 0.5] + 0.3

class Regressor : public L::LightningModule {
 public:
  explicit Regressor(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"lr", 0.1}, {"optimizer", "sgd"}})) {
    save_hyperparameters();
    layer = register_module("layer", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::mse_loss(forward(x), y);
    log("train_loss", loss, {.prog_bar = true, .on_epoch = true});
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("val_loss", F::mse_loss(forward(x), y));
    ++val_steps;
  }
  void test_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("test_loss", F::mse_loss(forward(x), y));
  }
  void on_validation_end() override { ++val_runs; }
  L::OptimizerConfig configure_optimizers() override {
    if (hparam<std::string>("optimizer") == "adam") return optim::Adam(parameters(), {.lr = hparam<double>("lr")});
    return optim::SGD(parameters(), {.lr = hparam<double>("lr")});
  }
  std::shared_ptr<nn::Linear> layer;
  int val_steps = 0;
  int val_runs = 0;
};

}  // namespace

TEST_CASE("fit: linear regression reaches the achievable loss (0) and the true weights") {
  auto ds = regression_data(64);
  Regressor model;
  data::DataLoader train(ds, {.batch_size = 16, .shuffle = true});
  data::DataLoader val(ds, {.batch_size = 64});
  L::Trainer trainer({.max_epochs = 60, .enable_progress_bar = false});
  trainer.fit(model, train, val);
  CHECK(trainer.current_epoch() == 60);
  CHECK(trainer.global_step() == 60 * 4);
  CHECK(trainer.callback_metrics().at("val_loss") < 1e-6);
  const std::vector<float> w = model.layer->parameter("weight").to_vector<float>();
  CHECK(w[0] == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(w[1] == doctest::Approx(-2.0).epsilon(1e-3));
  CHECK(w[2] == doctest::Approx(0.5).epsilon(1e-3));
  CHECK(model.layer->parameter("bias").item<double>() == doctest::Approx(0.3).epsilon(1e-3));
  // test(): one map per loader, with the epoch mean of test_loss.
  const auto results = trainer.test(model, data::DataLoader(ds, {.batch_size = 8}), {.verbose = false});
  REQUIRE(results.size() == 1);
  CHECK(results[0].at("test_loss") < 1e-6);
  CHECK(trainer.state().fn == "test");
  CHECK(trainer.state().finished());
}

namespace {

// Logs the batch index + 1 from training_step with several option sets; batches of 4, 4, 2.
class Logger : public L::LightningModule {
 public:
  Logger() {
    w = register_parameter("w", ones({1}));
    mean = register_module("mean", metrics::MeanMetric());
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
    const double v = static_cast<double>(i + 1);
    log("a", v, {.on_step = true, .on_epoch = true});                  // a_step, a_epoch
    log("s", v, {.on_step = false, .on_epoch = true, .reduce_fx = "sum"});
    log("mx", v, {.on_epoch = true, .reduce_fx = "max"});
    log("mn", v, {.logger = false, .on_step = false, .on_epoch = true, .reduce_fx = "min"});
    log("fixed", v, {.on_step = false, .on_epoch = true, .batch_size = 1});  // unweighted mean
    log("p", v, {.prog_bar = true});
    mean->update(tensor<float>({static_cast<float>(v)}));
    log("metric", mean, {.on_step = false, .on_epoch = true});
    return (w * batch.tensor(0).sum()).sum() * 0.0;
  }
  void validation_step(const L::Batch& batch, int64_t i) override {
    log("v", static_cast<double>(i + 1));  // on_epoch, mean weighted by batch size
  }
  void on_train_epoch_end() override { log("epoch_end_value", 7.0); }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.0}); }
  Tensor w;
  std::shared_ptr<metrics::MeanMetric> mean;
};

}  // namespace

TEST_CASE("logging: Lightning's keys, defaults, weighted epoch means and reductions") {
  auto ds = std::make_shared<data::TensorDataset>(arange(10).to(DType::Float32).reshape({10, 1}));
  Logger model;
  L::Trainer trainer({.max_epochs = 1, .num_sanity_val_steps = 0, .log_every_n_steps = 1,
                      .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4}));
  const auto& logged = trainer.logged_metrics();
  const auto& cb = trainer.callback_metrics();
  const auto& pbar = trainer.progress_bar_metrics();
  // on_step and on_epoch: forked keys; the mean is weighted by the batch sizes 4, 4, 2.
  CHECK(logged.at("a_step") == 3.0);
  CHECK(logged.at("a_epoch") == doctest::Approx((1 * 4 + 2 * 4 + 3 * 2) / 10.0));
  CHECK(logged.count("a") == 0);
  CHECK(cb.at("a") == doctest::Approx(1.8));  // the epoch value replaces the step value
  CHECK(cb.at("a_step") == 3.0);
  CHECK(cb.at("a_epoch") == doctest::Approx(1.8));
  CHECK(logged.at("s") == 6.0);
  CHECK(logged.at("mx_step") == 3.0);
  CHECK(logged.at("mx_epoch") == 3.0);
  CHECK(logged.count("mn") == 0);  // logger=false
  CHECK(cb.at("mn") == 1.0);
  CHECK(logged.at("fixed") == doctest::Approx(2.0));  // batch_size = 1 each: plain mean
  CHECK(logged.at("p") == 3.0);                       // training_step default: on_step only
  CHECK(pbar.at("p") == 3.0);
  CHECK(pbar.count("a_step") == 0);
  CHECK(logged.at("metric") == doctest::Approx(2.0));  // MeanMetric over the three updates
  CHECK(model.mean->update_count() == 0);              // reset at epoch end
  CHECK(logged.at("epoch_end_value") == 7.0);
  // validation_step default: on_epoch only, weighted: (1*4 + 2*4 + 3*2) / 10.
  CHECK(logged.at("v") == doctest::Approx(1.8));
  CHECK(cb.at("v") == doctest::Approx(1.8));
}

TEST_CASE("logging: errors for hooks that cannot log and for bad values") {
  struct LogsInFitStart : Regressor {
    void on_fit_start() override { log("x", 1.0); }
  };
  auto ds = regression_data(8);
  LogsInFitStart model;
  L::Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  CHECK_THROWS_WITH_AS(trainer.fit(model, data::DataLoader(ds, {.batch_size = 4})),
                       doctest::Contains("You can't `self.log(\"x\")` inside `on_fit_start`"), Error);
  CHECK(trainer.state().status == "interrupted");

  struct StepInEpochEnd : Regressor {
    void on_train_epoch_end() override { log("x", 1.0, {.on_step = true}); }
  };
  StepInEpochEnd model2;
  L::Trainer trainer2({.max_epochs = 1, .enable_progress_bar = false});
  CHECK_THROWS_WITH_AS(trainer2.fit(model2, data::DataLoader(ds, {.batch_size = 4})),
                       doctest::Contains("on_step=True)` inside `on_train_epoch_end`"), Error);

  struct LogsVector : Regressor {
    L::StepOutput training_step(const L::Batch& b, int64_t i) override {
      log("vec", ones({2}));
      return Regressor::training_step(b, i);
    }
  };
  LogsVector model3;
  L::Trainer trainer3({.max_epochs = 1, .enable_progress_bar = false});
  CHECK_THROWS_WITH_AS(trainer3.fit(model3, data::DataLoader(ds, {.batch_size = 4})),
                       doctest::Contains("must have a single element"), Error);
}

TEST_CASE("limits: limit_*_batches, max_steps, val_check_interval, check_val_every_n_epoch") {
  auto ds = regression_data(40);  // 10 batches of 4
  SUBCASE("fraction and count limits") {
    Regressor model;
    L::Trainer trainer({.max_epochs = 2, .limit_train_batches = 0.5, .limit_val_batches = 3,
                        .num_sanity_val_steps = 0, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4}));
    CHECK(trainer.num_training_batches() == 5);
    CHECK(trainer.global_step() == 10);
    CHECK(model.val_runs == 2);
    CHECK(model.val_steps == 6);
  }
  SUBCASE("max_steps stops mid-epoch; max_epochs unset means unlimited then") {
    Regressor model;
    L::Trainer trainer({.max_steps = 13, .limit_val_batches = 0, .enable_progress_bar = false});
    CHECK(trainer.max_epochs() == -1);
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    CHECK(trainer.global_step() == 13);
    // One full epoch, then 3 steps of the second; that epoch ends there and counts, as in Lightning.
    CHECK(trainer.current_epoch() == 2);
  }
  SUBCASE("val_check_interval as a count and as a fraction; sanity check runs 2 batches") {
    Regressor model;
    L::Trainer trainer({.max_epochs = 1, .val_check_interval = 3, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 20}));
    CHECK(model.val_runs == 1 + 3);  // sanity + batches 3, 6, 9
    CHECK(model.val_steps == 2 + 3 * 2);
    Regressor model2;
    L::Trainer trainer2({.max_epochs = 1, .val_check_interval = 0.5, .num_sanity_val_steps = 0,
                         .enable_progress_bar = false});
    trainer2.fit(model2, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 20}));
    CHECK(model2.val_runs == 2);
  }
  SUBCASE("check_val_every_n_epoch") {
    Regressor model;
    L::Trainer trainer({.max_epochs = 4, .limit_train_batches = 2, .check_val_every_n_epoch = 2,
                        .num_sanity_val_steps = 0, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 20}));
    CHECK(model.val_runs == 2);
  }
  SUBCASE("invalid options fail at construction or at fit with Lightning's messages") {
    CHECK_THROWS_WITH_AS(L::Trainer({.accumulate_grad_batches = 0}), doctest::Contains("must be a positive integer"),
                         Error);
    CHECK_THROWS_WITH_AS(L::Trainer({.limit_train_batches = 1.5}), doctest::Contains("between 0.0 and 1.0"), Error);
    CHECK_THROWS_WITH_AS(L::Trainer({.gradient_clip_algorithm = "foo"}),
                         doctest::Contains("Allowed algorithms: ['value', 'norm']"), Error);
    Regressor model;
    L::Trainer trainer({.max_epochs = 1, .val_check_interval = 50, .enable_progress_bar = false});
    CHECK_THROWS_WITH_AS(
        trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4})),
        doctest::Contains("must be less than or equal to the number of the training batches (10)"), Error);
  }
}

TEST_CASE("accumulate_grad_batches=4 on batches of 2 equals one step on batches of 8 (hand-written loop)") {
  auto ds = regression_data(16);
  Regressor model(L::HParams{{"lr", 0.05}});
  auto reference = std::make_shared<nn::Linear>(3, 1);
  reference->load_state_dict(model.layer->state_dict());
  L::Trainer trainer({.max_epochs = 1, .limit_val_batches = 0, .enable_progress_bar = false,
                      .accumulate_grad_batches = 4});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}));
  CHECK(trainer.global_step() == 2);

  optim::SGD opt(reference->parameters(), {.lr = 0.05});
  for (const Value& batch : data::DataLoader(ds, {.batch_size = 8})) {
    opt.zero_grad();
    F::mse_loss((*reference)(batch[0].as_tensor()), batch[1].as_tensor()).backward();
    opt.step();
  }
  const auto got = model.layer->parameter("weight").to_vector<float>();
  const auto want = reference->parameter("weight").to_vector<float>();
  for (size_t i = 0; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) < 1e-6);
  CHECK(std::abs(model.layer->parameter("bias").item<double>() - reference->parameter("bias").item<double>()) < 1e-6);
}

namespace {

// Runs the closure itself to see the gradients after clipping, then steps.
class ClipProbe : public Regressor {
 public:
  void optimizer_step(int64_t, int64_t, optim::Optimizer& opt, const std::function<Tensor()>& closure) override {
    {
      SetGradEnabled on(true);
      closure();
    }
    double sq = 0, max_abs = 0;
    for (const Tensor& p : parameters()) {
      for (float g : p.grad().to_vector<float>()) {
        sq += static_cast<double>(g) * g;
        max_abs = std::max(max_abs, static_cast<double>(std::abs(g)));
      }
    }
    norms.push_back(std::sqrt(sq));
    max_abs_grads.push_back(max_abs);
    opt.step();
  }
  std::vector<double> norms, max_abs_grads;
};

}  // namespace

TEST_CASE("gradient clipping by norm and by value is applied before the step") {
  auto ds = regression_data(16);
  {
    ClipProbe model;
    L::Trainer trainer({.max_epochs = 1, .limit_val_batches = 0, .enable_progress_bar = false,
                        .gradient_clip_val = 0.01});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    REQUIRE(model.norms.size() == 4);
    for (double n : model.norms) CHECK(n == doctest::Approx(0.01).epsilon(1e-3));  // large grads: scaled to 0.01
  }
  {
    ClipProbe model;
    L::Trainer trainer({.max_epochs = 1, .limit_val_batches = 0, .enable_progress_bar = false,
                        .gradient_clip_val = 0.002, .gradient_clip_algorithm = "value"});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    for (double m : model.max_abs_grads) CHECK(m == doctest::Approx(0.002));
  }
  {
    ClipProbe model;  // no clipping: the raw gradients are larger
    L::Trainer trainer({.max_epochs = 1, .limit_val_batches = 0, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    CHECK(model.norms[0] > 0.1);
  }
}

namespace {

class Scheduled : public Regressor {
 public:
  explicit Scheduled(std::string interval, std::string monitor = "") : interval_(interval), monitor_(monitor) {}
  L::OptimizerConfig configure_optimizers() override {
    auto opt = std::make_shared<optim::SGD>(parameters(), optim::SGDOptions{.lr = 1.0});
    opt_ = opt.get();
    if (!monitor_.empty()) {
      return {opt, {.scheduler = std::make_shared<optim::ReduceLROnPlateau>(
                        *opt, optim::ReduceLROnPlateauOptions{.factor = 0.5, .patience = 0}),
                    .monitor = monitor_}};
    }
    return {opt,
            {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1, .gamma = 0.5}),
             .interval = interval_}};
  }
  optim::Optimizer* opt_ = nullptr;

 private:
  std::string interval_, monitor_;
};

}  // namespace

TEST_CASE("lr schedulers: interval epoch and step; ReduceLROnPlateau needs a logged monitor") {
  auto ds = regression_data(16);
  {
    Scheduled model("epoch");
    L::Trainer trainer({.max_epochs = 3, .limit_val_batches = 0, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 8}));
    CHECK(model.opt_->get_lr() == doctest::Approx(0.125));  // three epochs
  }
  {
    Scheduled model("step");
    L::Trainer trainer({.max_epochs = 1, .limit_val_batches = 0, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
    CHECK(model.opt_->get_lr() == doctest::Approx(1.0 / 16));  // four optimizer steps
  }
  {
    Scheduled model("epoch", "nope");
    L::Trainer trainer({.max_epochs = 1, .num_sanity_val_steps = 0, .enable_progress_bar = false});
    CHECK_THROWS_WITH_AS(
        trainer.fit(model, data::DataLoader(ds, {.batch_size = 8}), data::DataLoader(ds, {.batch_size = 8})),
        doctest::Contains("ReduceLROnPlateau conditioned on metric nope which is not available. Available metrics "
                          "are: ['train_loss', 'train_loss_epoch', 'train_loss_step', 'val_loss']"),
        Error);
  }
  {
    Scheduled model("epoch", "val_loss");
    L::Trainer trainer({.max_epochs = 2, .num_sanity_val_steps = 0, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 8}), data::DataLoader(ds, {.batch_size = 8}));
    CHECK(trainer.callback_metrics().count("val_loss") == 1);
  }
}

TEST_CASE("errors: missing training_step / configure_optimizers / train_dataloader") {
  auto ds = regression_data(8);
  struct NoStep : L::LightningModule {
    NoStep() { register_module("l", nn::Linear(3, 1)); }
    L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }
  };
  NoStep no_step;
  L::Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  CHECK_THROWS_WITH_AS(trainer.fit(no_step, data::DataLoader(ds, {.batch_size = 4})),
                       doctest::Contains("`training_step` must be implemented"), Error);
  struct NoOptim : L::LightningModule {
    L::StepOutput training_step(const L::Batch&, int64_t) override { return Tensor(); }
  };
  NoOptim no_optim;
  CHECK_THROWS_WITH_AS(trainer.fit(no_optim, data::DataLoader(ds, {.batch_size = 4})),
                       doctest::Contains("No `configure_optimizers()` method defined"), Error);
  Regressor model;
  CHECK_THROWS_WITH_AS(trainer.fit(model), doctest::Contains("`train_dataloader` must be implemented"), Error);
  CHECK_THROWS_WITH_AS(trainer.test(model, {}, {.verbose = false}),
                       doctest::Contains("`test_dataloader` must be implemented"), Error);
  CHECK_THROWS_WITH_AS(trainer.test(no_optim, data::DataLoader(ds, {.batch_size = 4}), {.verbose = false}),
                       doctest::Contains("No `test_step()` method defined to run `Trainer.test`"), Error);
}

TEST_CASE("datamodule, predict, freeze, several optimizers need manual optimization") {
  struct DM : L::LightningDataModule {
    void setup(const std::string& stage) override {
      stages.push_back(stage);
      ds = regression_data(16);
    }
    L::Loaders train_dataloader() override { return data::DataLoader(ds, {.batch_size = 4}); }
    L::Loaders predict_dataloader() override { return data::DataLoader(ds, {.batch_size = 8}); }
    std::shared_ptr<data::TensorDataset> ds;
    std::vector<std::string> stages;
  };
  DM dm;
  Regressor model;
  L::Trainer trainer({.max_epochs = 2, .enable_progress_bar = false});
  trainer.fit(model, dm);  // no val_dataloader in the datamodule: no validation
  CHECK(trainer.global_step() == 8);
  CHECK(model.val_runs == 0);
  const std::vector<Tensor> preds = trainer.predict(model, dm);
  REQUIRE(preds.size() == 2);
  CHECK(preds[0].size(0) == 8);
  CHECK(dm.stages == std::vector<std::string>{"fit", "predict"});
  CHECK_FALSE(model.is_training());  // predict leaves eval mode on (Lightning has no on_predict_model_train)
  model.freeze();
  for (const Tensor& p : model.parameters()) CHECK_FALSE(p.requires_grad());
  CHECK_FALSE(model.is_training());
  model.unfreeze();
  for (const Tensor& p : model.parameters()) CHECK(p.requires_grad());

  struct Two : Regressor {
    L::OptimizerConfig configure_optimizers() override {
      auto a = std::make_shared<optim::SGD>(layer->parameters(), optim::SGDOptions{.lr = 0.1});
      auto b = std::make_shared<optim::Adam>(layer->parameters(), optim::AdamOptions{.lr = 0.1});
      return {{a, b}};
    }
  };
  Two two;
  L::Trainer trainer2({.max_epochs = 1, .enable_progress_bar = false});
  CHECK_THROWS_WITH_AS(trainer2.fit(two, dm), doctest::Contains("only supported with manual optimization"), Error);
}

namespace {

// api.md's LitClassifier, as written there (the network held through its shared_ptr).
class LitClassifier : public L::LightningModule {
 public:
  explicit LitClassifier(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"in_dim", 784}, {"hidden", 128}, {"n_classes", 10}, {"lr", 1e-3}})) {
    save_hyperparameters();
    net_ = register_module("net", nn::Sequential(nn::Linear(hparam<int>("in_dim"), hparam<int>("hidden")), nn::ReLU(),
                                                 nn::Linear(hparam<int>("hidden"), hparam<int>("n_classes"))));
    acc_ = register_module("acc", metrics::Accuracy({.task = "multiclass", .num_classes = hparam<int>("n_classes")}));
  }
  Tensor forward(const Tensor& x) override { return (*net_)(x); }

  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss, {.prog_bar = true});
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor logits = forward(x);
    log("val_loss", F::cross_entropy(logits, y), {.prog_bar = true});
    acc_->update(logits, y);
    log("val_acc", acc_, {.prog_bar = true});
  }
  L::OptimizerConfig configure_optimizers() override {
    return optim::Adam(parameters(), {.lr = hparam<double>("lr")});
  }

 private:
  std::shared_ptr<nn::Sequential> net_;
  std::shared_ptr<metrics::Accuracy> acc_;
};

}  // namespace

TEST_CASE("api.md's LitClassifier learns a separable 3-class problem; val_acc is a metric object") {
  manual_seed(3);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 120; ++i) labels.push_back(i % 3);
  Tensor y = from_vector(labels);
  Tensor x = randn({120, 2}) * 0.3;
  // Class c sits around (2 cos(2 pi c / 3), 2 sin(2 pi c / 3)).
  Tensor angle = y.to(DType::Float32) * (2 * 3.14159265 / 3);
  x = x + stack({angle.cos() * 2, angle.sin() * 2}, 1);
  auto ds = std::make_shared<data::TensorDataset>(x, y);
  LitClassifier model({{"in_dim", 2}, {"hidden", 16}, {"n_classes", 3}, {"lr", 0.05}});
  L::Trainer trainer({.max_epochs = 10, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 16, .shuffle = true}),
              data::DataLoader(ds, {.batch_size = 50}));
  CHECK(trainer.callback_metrics().at("val_acc") == 1.0);
  CHECK(trainer.callback_metrics().at("val_loss") < 0.1);
  CHECK(trainer.progress_bar_metrics().count("train_loss") == 1);
  CHECK(trainer.progress_bar_metrics().at("val_acc") == 1.0);
}

TEST_CASE("several validation loaders: dataloader_idx, suffixed keys, per-loader results") {
  struct TwoLoaders : Regressor {
    void validation_step(const L::Batch& batch, int64_t i, int64_t dataloader_idx) override {
      seen.push_back(dataloader_idx);
      log("idx", static_cast<double>(dataloader_idx));
      log("shared", static_cast<double>(dataloader_idx), {.add_dataloader_idx = false});
    }
    std::vector<int64_t> seen;
  };
  auto ds = regression_data(8);
  TwoLoaders model;
  L::Trainer trainer({.max_epochs = 1, .enable_progress_bar = false});
  std::vector<data::DataLoader> loaders;
  loaders.emplace_back(ds, data::DataLoaderOptions{.batch_size = 4});
  loaders.emplace_back(ds, data::DataLoaderOptions{.batch_size = 8});
  const auto results = trainer.validate(model, std::move(loaders), {.verbose = false});
  CHECK(model.seen == std::vector<int64_t>{0, 0, 1});
  REQUIRE(results.size() == 2);
  CHECK(results[0].at("idx/dataloader_idx_0") == 0.0);
  CHECK(results[0].count("idx/dataloader_idx_1") == 0);
  CHECK(results[1].at("idx/dataloader_idx_1") == 1.0);
  // One key for both loaders: its mean over all their batches, weighted by batch size.
  CHECK(results[0].at("shared") == doctest::Approx((0.0 * 8 + 1.0 * 8) / 16));
  CHECK(results[1].at("shared") == results[0].at("shared"));
}

TEST_CASE("manual optimization with one optimizer: the cheatsheet's opt = self.optimizers(); opt.step()") {
  struct OneOptimizer : Regressor {
    OneOptimizer() { automatic_optimization(false); }
    L::StepOutput training_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      auto opt = optimizers();
      opt.zero_grad();
      Tensor loss = F::mse_loss(forward(x), y);
      manual_backward(loss);
      opt.step();
      CHECK(&opt.optimizer() == trainer().optimizers()[0].get());
      CHECK(opt->param_groups().size() == 1);
      return loss;
    }
  };
  // The same steps as automatic optimization: the same parameters, bit for bit.
  auto ds = regression_data(32);
  manual_seed(4);
  OneOptimizer manual;
  manual_seed(4);
  Regressor automatic;
  for (L::LightningModule* m : std::initializer_list<L::LightningModule*>{&manual, &automatic}) {
    L::Trainer trainer({.max_epochs = 3, .limit_val_batches = 0, .enable_progress_bar = false});
    trainer.fit(*m, data::DataLoader(ds, {.batch_size = 8}));
    CHECK(trainer.global_step() == 3 * 4);
  }
  CHECK(manual.layer->parameter("weight").to_vector<float>() ==
        automatic.layer->parameter("weight").to_vector<float>());
  CHECK(manual.layer->parameter("bias").to_vector<float>() == automatic.layer->parameter("bias").to_vector<float>());
}

TEST_CASE("manual optimization: two optimizers stepped by hand, global_step counts their steps") {
  struct Manual : Regressor {
    Manual() { automatic_optimization(false); }
    void setup(const std::string&) override { ++setups; }
    int setups = 0;
    L::StepOutput training_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      L::LightningOptimizers opts = optimizers();
      REQUIRE(opts.size() == 2);
      CHECK_THROWS_WITH_AS(opts.step(), doctest::Contains("`optimizers().step()` needs exactly one optimizer, but "
                                                          "configure_optimizers returned 2"),
                           Error);
      toggle_optimizer(opts[0].optimizer());  // only the weight's optimizer keeps grads
      CHECK(layer->parameter("weight").requires_grad());
      CHECK_FALSE(layer->parameter("bias").requires_grad());
      untoggle_optimizer(opts[0].optimizer());
      CHECK(layer->parameter("bias").requires_grad());
      for (L::LightningOptimizer& opt : opts) {
        opt.zero_grad();
        Tensor loss = F::mse_loss(forward(x), y);
        manual_backward(loss);
        opt.step();
      }
      return Tensor();
    }
    L::OptimizerConfig configure_optimizers() override {
      auto w =
          std::make_shared<optim::SGD>(std::vector<Tensor>{layer->parameter("weight")}, optim::SGDOptions{.lr = 0.1});
      auto b =
          std::make_shared<optim::SGD>(std::vector<Tensor>{layer->parameter("bias")}, optim::SGDOptions{.lr = 0.1});
      return {{w, b}};
    }
  };
  auto ds = regression_data(32);
  Manual model;
  L::Trainer trainer({.max_epochs = 30, .limit_val_batches = 0, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 8}));
  CHECK(trainer.global_step() == 30 * 4 * 2);
  CHECK(model.layer->parameter("bias").item<double>() == doctest::Approx(0.3).epsilon(1e-2));
  REQUIRE(model.setups == 1);
  // The refusals come before the setup hooks, as Lightning's _verify_loop_configurations.
  L::Trainer accumulating({.max_epochs = 1, .accumulate_grad_batches = 2});
  CHECK_THROWS_WITH_AS(accumulating.fit(model, data::DataLoader(ds, {.batch_size = 8})),
                       doctest::Contains("Automatic gradient accumulation is not supported for manual optimization"),
                       Error);
  // Lightning's message, with the value as Python prints it; gradient_clip_val=0 is allowed.
  L::Trainer clipping({.max_epochs = 1, .gradient_clip_val = 1.0});
  CHECK_THROWS_WITH_AS(clipping.fit(model, data::DataLoader(ds, {.batch_size = 8})),
                       doctest::Contains("Automatic gradient clipping is not supported for manual optimization. "
                                         "Remove `Trainer(gradient_clip_val=1.0)` or switch to automatic optimization"),
                       Error);
  CHECK(model.setups == 1);
  L::Trainer zero_clip({.max_epochs = 1, .limit_val_batches = 0, .enable_progress_bar = false,
                        .gradient_clip_val = 0.0});
  zero_clip.fit(model, data::DataLoader(ds, {.batch_size = 8}));
  CHECK(zero_clip.global_step() == 4 * 2);  // one epoch of 4 batches, two optimizer steps each
}

TEST_CASE("api.md's Trainer line compiles and is valid on this machine") {
  L::Trainer trainer({.max_epochs = 10, .accelerator = "auto", .devices = "auto"});
  CHECK(trainer.max_epochs() == 10);
  CHECK(trainer.is_global_zero());
  CHECK(trainer.world_size() == 1);
  CHECK(L::Trainer({.strategy = "ddp"}).strategy().name() == "ddp");  // one process here: world size 1
}

TEST_CASE("estimated_stepping_batches inside configure_optimizers (OneCycleLR's total_steps)") {
  struct OneCycle : Regressor {
    L::OptimizerConfig configure_optimizers() override {
      estimated = trainer().estimated_stepping_batches();
      return Regressor::configure_optimizers();
    }
    int64_t estimated = 0;
  };
  auto ds = regression_data(40);  // 10 batches of 4
  OneCycle model;
  L::Trainer trainer({.max_epochs = 3, .limit_val_batches = 0, .enable_progress_bar = false,
                      .accumulate_grad_batches = 3});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}));
  CHECK(model.estimated == 4 * 3);  // ceil(10 / 3) per epoch
  CHECK(trainer.global_step() == 12);
  OneCycle capped;
  L::Trainer trainer2({.max_epochs = 3, .max_steps = 5, .limit_val_batches = 0, .enable_progress_bar = false});
  trainer2.fit(capped, data::DataLoader(ds, {.batch_size = 4}));
  CHECK(capped.estimated == 5);
}

TEST_CASE("fast_dev_run: N batches of every loop, one epoch, no sanity check") {
  auto ds = regression_data(40);
  Regressor model;
  L::Trainer trainer({.fast_dev_run = 2, .max_epochs = 5, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK(trainer.global_step() == 2);
  CHECK(trainer.current_epoch() == 1);
  CHECK(model.val_runs == 1);  // no sanity check, then one validation of 2 batches
  CHECK(model.val_steps == 2);
  Regressor one;
  L::Trainer trainer1({.fast_dev_run = true, .enable_progress_bar = false});
  trainer1.fit(one, data::DataLoader(ds, {.batch_size = 4}));
  CHECK(trainer1.global_step() == 1);
}

TEST_CASE("fast_dev_run: logging and checkpointing are suppressed (nothing is written)") {
  auto ds = regression_data(16);
  const std::filesystem::path root = std::filesystem::current_path() / "fast_dev_run_root";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  Regressor model;
  // The default logger (TensorBoard) and the default ModelCheckpoint would both write under root.
  L::Trainer smoke({.fast_dev_run = true, .enable_progress_bar = false, .default_root_dir = root.string()});
  CHECK(smoke.loggers().empty());
  smoke.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK(smoke.global_step() == 1);
  CHECK(std::filesystem::is_empty(root));
  // The same Trainer without fast_dev_run writes both.
  Regressor again;
  L::Trainer full({.max_epochs = 1, .enable_progress_bar = false, .default_root_dir = root.string()});
  CHECK(full.loggers().size() == 1);
  full.fit(again, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4}));
  CHECK(std::filesystem::exists(root / "lightning_logs" / "version_0"));
}

TEST_CASE("precision=\"64-true\": module and floating inputs in float64") {
  struct Checks : Regressor {
    L::StepOutput training_step(const L::Batch& batch, int64_t i) override {
      CHECK(batch.tensor(0).dtype() == DType::Float64);
      return Regressor::training_step(batch, i);
    }
  };
  auto ds = regression_data(32);
  Checks model;
  L::Trainer trainer({.max_epochs = 40, .precision = "64-true", .limit_val_batches = 0, .enable_progress_bar = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 8}));
  CHECK(model.layer->parameter("weight").dtype() == DType::Float64);
  CHECK(model.layer->parameter("bias").item<double>() == doctest::Approx(0.3).epsilon(1e-3));
  // (bf16, float16 and the flags refused: tests/trainer_precision_test.cc)
}

TEST_CASE("seed_everything seeds the default generator and records the seed") {
  CHECK(L::seed_everything(5) == 5);
  const std::vector<float> a = randn({4}).to_vector<float>();
  L::seed_everything(5, true);
  CHECK(randn({4}).to_vector<float>() == a);
  CHECK(std::string(std::getenv("PL_GLOBAL_SEED")) == "5");
  CHECK(std::string(std::getenv("PL_SEED_WORKERS")) == "1");
}

namespace {
// Logs one MeanMetric from validation (inputs 1) and test (inputs 0), as the seed's
// LitClassifier shares its Accuracy between stages.
class SharedMetricModule : public L::LightningModule {
 public:
  SharedMetricModule() {
    layer = register_module("layer", nn::Linear(3, 1));
    mean = register_module("mean", std::make_shared<metrics::MeanMetric>());
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    mean->update(ones({batch.batch_size()}));
    log("val_mean", mean);
  }
  void test_step(const L::Batch& batch, int64_t) override {
    mean->update(zeros({batch.batch_size()}));
    log("test_mean", mean);
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.01}); }
  std::shared_ptr<nn::Linear> layer;
  std::shared_ptr<metrics::MeanMetric> mean;
};
}  // namespace

TEST_CASE("a metric object is reset at the end of each evaluation run, so test does not see validation's state") {
  // Found by examples:mnist: test_acc after fit mixed in the last validation's counts.
  auto ds = regression_data(32);
  SharedMetricModule model;
  L::Trainer trainer({.max_epochs = 1, .enable_progress_bar = false, .enable_model_summary = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 8}), data::DataLoader(ds, {.batch_size = 8}));
  CHECK(trainer.callback_metrics().at("val_mean") == 1.0);
  const auto results = trainer.test(model, data::DataLoader(ds, {.batch_size = 8}), {.verbose = false});
  CHECK(results.at(0).at("test_mean") == 0.0);  // 0.5 when validation's updates leaked in
}

namespace {
// Records the batches training_step sees: the first value of each loader's part.
class CombinedBatches : public L::LightningModule {
 public:
  CombinedBatches() { layer = register_module("layer", nn::Linear(1, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    const Value& v = batch.value();
    std::vector<double> firsts;
    Tensor loss = zeros({});
    for (const Value& part : v.is_dict() ? std::vector<Value>{v.at("a"), v.at("b")} : v.as_list()) {
      if (part.is_none()) {
        firsts.push_back(-1);
        continue;
      }
      const Tensor x = part[0].as_tensor().to(kFloat32).reshape({-1, 1});
      firsts.push_back(x[0].item<double>());
      loss = loss + forward(x).mean();
    }
    seen.push_back(firsts);
    return loss;
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.0}); }
  std::shared_ptr<nn::Linear> layer;
  std::vector<std::vector<double>> seen;
};
data::DataLoader range_loader(int64_t start, int64_t n) {
  return data::DataLoader(data::TensorDataset(arange(start, start + n)), {.batch_size = 2});
}
}  // namespace

TEST_CASE("several train loaders are combined in max_size_cycle mode; a CombinedLoader's mode is kept") {
  // Lightning: fit(train_dataloaders=[a, b]) iterates CombinedLoader([a, b], "max_size_cycle").
  CombinedBatches model;
  L::Trainer trainer({.max_epochs = 1, .logger = false, .enable_checkpointing = false,
                      .enable_progress_bar = false, .enable_model_summary = false});
  std::vector<data::DataLoader> loaders;  // DataLoader is move-only: no initializer list
  loaders.push_back(range_loader(0, 4));
  loaders.push_back(range_loader(10, 8));
  trainer.fit(model, std::move(loaders));
  CHECK(trainer.num_training_batches() == 4);
  CHECK(model.seen == std::vector<std::vector<double>>{{0, 10}, {2, 12}, {0, 14}, {2, 16}});

  CombinedBatches named;
  L::Trainer t2({.max_epochs = 1, .logger = false, .enable_checkpointing = false, .enable_progress_bar = false,
                 .enable_model_summary = false});
  auto a = std::make_shared<data::DataLoader>(range_loader(0, 4));
  auto b = std::make_shared<data::DataLoader>(range_loader(10, 8));
  t2.fit(named, data::CombinedLoader({{"a", a}, {"b", b}}, "max_size"));
  CHECK(named.seen == std::vector<std::vector<double>>{{0, 10}, {2, 12}, {-1, 14}, {-1, 16}});

  L::Trainer t3({.max_epochs = 1, .logger = false, .enable_checkpointing = false, .enable_progress_bar = false,
                 .enable_model_summary = false});
  CHECK_THROWS_WITH_AS(t3.fit(named, data::CombinedLoader({a, b}, "sequential")),
                       doctest::Contains("does not support the `CombinedLoader(mode=\"sequential\")` mode"), Error);
}
