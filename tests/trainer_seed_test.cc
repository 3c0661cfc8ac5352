// The seed's appendix (shared/seed/000_220adada12d70ea1.txt), line by line, as one program:
// LitClassifier, a DataModule with random_split, seed_everything(42), ModelCheckpoint +
// EarlyStopping, fit / test / best_model_path, save_checkpoint("model.ckpt"),
// load_from_checkpoint (with and without an hparam override), torch.load(...)["state_dict"]
// in Python, a resume from "model.ckpt", and the export (to_onnx, run by our ONNX runtime
// without the module's class: api.md's stand-in for torch.export / .pt2). Also the
// cheatsheet lines no other test runs: log_dict, Trainer(logger=CSVLogger("logs")), a
// training_step returning {"loss": ...}, and a ReduceLROnPlateau config with interval "epoch"
// and monitor "val_loss". docs/TRAINER.md's "The seed, line by line" points here.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/nn/onnx/session.h"
#include "tests/subprocess_util.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

// Trainers without default_root_dir write lightning_logs/ into the current directory.
[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

std::string tmp_file(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::filesystem::path base = dir != nullptr ? dir : std::filesystem::temp_directory_path();
  return (base / ("seed_" + name)).string();
}

// The appendix's LitClassifier, in api.md's C++ (plus test_step: the appendix calls
// trainer.test on it, which Lightning refuses without one: "No `test_step()` method defined").
class LitClassifier : public L::LightningModule {
 public:
  explicit LitClassifier(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"in_dim", 784}, {"hidden", 128}, {"n_classes", 10}, {"lr", 1e-3}})) {
    save_hyperparameters();  // stored in every checkpoint
    net_ = register_module("net", nn::Sequential(nn::Linear(hparam<int>("in_dim"), hparam<int>("hidden")), nn::ReLU(),
                                                 nn::Linear(hparam<int>("hidden"), hparam<int>("n_classes"))));
    acc_ = register_module("acc", metrics::Accuracy({.task = "multiclass", .num_classes = hparam<int>("n_classes")}));
  }
  Tensor forward(const Tensor& x) override { return (*net_)(x); }

  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::cross_entropy(forward(x), y);
    log("train_loss", loss, {.prog_bar = true});
    return loss;  // the Trainer calls backward + step
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor logits = forward(x);
    log("val_loss", F::cross_entropy(logits, y), {.prog_bar = true});
    acc_->update(logits, y);
    log("val_acc", acc_, {.prog_bar = true});  // a metric object
  }
  void test_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    acc_->update(forward(x), y);
    log("test_acc", acc_);
  }
  L::OptimizerConfig configure_optimizers() override {
    return optim::Adam(parameters(), {.lr = hparam<double>("lr")});
  }

 private:
  std::shared_ptr<nn::Sequential> net_;
  std::shared_ptr<metrics::Accuracy> acc_;
};

// Ten separable classes in 784 dimensions: class c has mean 3 on features [8c, 8c + 8).
std::shared_ptr<data::TensorDataset> blobs(int64_t n, uint64_t seed) {
  manual_seed(seed);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back(i % 10);
  Tensor y = from_vector(labels);
  Tensor x = randn({n, 784});
  for (int64_t i = 0; i < n; ++i) x[i].slice(0, 8 * labels[i], 8 * labels[i] + 8).add_(3.0);
  return std::make_shared<data::TensorDataset>(x, y);
}

// The appendix's MNISTData, on the blobs: prepare_data once, setup(stage) splits with
// random_split, *_dataloader return DataLoaders.
class BlobData : public L::LightningDataModule {
 public:
  void prepare_data() override { ++prepare_calls; }
  void setup(const std::string& stage) override {
    stages.push_back(stage);
    Generator gen(42);
    auto parts = data::random_split(blobs(240, 1), {200, 40}, &gen);  // the seed's [55000, 5000]
    train = parts[0];
    val = parts[1];
    test = blobs(100, 2);
  }
  L::Loaders train_dataloader() override { return data::DataLoader(train, {.batch_size = 32, .shuffle = true}); }
  L::Loaders val_dataloader() override { return data::DataLoader(val, {.batch_size = 32}); }
  L::Loaders test_dataloader() override { return data::DataLoader(test, {.batch_size = 32}); }

  std::shared_ptr<const data::Dataset> train, val, test;
  std::vector<std::string> stages;
  int prepare_calls = 0;
};

// The cheatsheet's `class MyCb(L.Callback)`: records val_loss at each train epoch end.
struct MyCb : L::Callback {
  void on_train_epoch_end(L::Trainer& trainer, L::LightningModule&) override {
    val_losses.push_back(trainer.callback_metrics().at("val_loss"));
  }
  std::vector<double> val_losses;
};

std::vector<float> flat(const std::vector<Tensor>& tensors) {
  std::vector<float> out;
  for (const Tensor& t : tensors) {
    for (float v : t.contiguous().to_vector<float>()) out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("seed appendix: fit, test, best_model_path, save/load_from_checkpoint, torch.load, resume, export") {
  CHECK(L::seed_everything(42) == 42);  // reproducible runs
  LitClassifier model;
  BlobData dm;
  auto ckpt = std::make_shared<L::callbacks::ModelCheckpoint>(
      L::callbacks::ModelCheckpointOptions{.monitor = "val_loss", .mode = "min", .save_top_k = 1});
  auto early = std::make_shared<L::callbacks::EarlyStopping>(
      L::callbacks::EarlyStoppingOptions{.monitor = "val_loss", .patience = 3, .mode = "min"});
  auto mycb = std::make_shared<MyCb>();
  L::Trainer trainer({.callbacks = {ckpt, early, mycb},
                      .max_epochs = 10,
                      .accelerator = "auto",  // CPU here
                      .devices = "auto",
                      .enable_progress_bar = false,
                      .enable_model_summary = false});
  trainer.fit(model, dm);
  CHECK(dm.stages == std::vector<std::string>{"fit"});
  CHECK(dm.prepare_calls == 1);
  const int64_t epochs = trainer.current_epoch();
  CHECK(epochs >= 4);  // EarlyStopping needs patience 3 epochs without improvement after a best
  CHECK(epochs <= 10);
  REQUIRE(static_cast<int64_t>(mycb->val_losses.size()) == epochs);
  CHECK(trainer.global_step() == epochs * 7);  // ceil(200 / 32) steps per epoch

  // print(ckpt.best_model_path): one file (save_top_k=1), scored by the lowest val_loss seen.
  const std::string best_path = ckpt->best_model_path();
  REQUIRE_FALSE(best_path.empty());
  CHECK(std::filesystem::exists(best_path));
  const double lowest = *std::min_element(mycb->val_losses.begin(), mycb->val_losses.end());
  CHECK(ckpt->best_model_score().value() == doctest::Approx(lowest).epsilon(1e-6));
  CHECK(std::distance(std::filesystem::directory_iterator(std::filesystem::path(best_path).parent_path()),
                      std::filesystem::directory_iterator{}) == 1);

  // trainer.test(model, dataloaders=test_dl): the separable blobs are learned.
  const auto results = trainer.test(model, data::DataLoader(dm.test, {.batch_size = 32}), {.verbose = false});
  REQUIRE(results.size() == 1);
  CHECK(results[0].at("test_acc") > 0.95);

  // trainer.save_checkpoint("model.ckpt"): weights + hparams + optimizer state + epoch.
  const std::string path = tmp_file("model.ckpt");
  trainer.save_checkpoint(path);
  const Value ck = fulgur::load(path);
  CHECK(ck.at("epoch").as_int() == epochs);
  CHECK(ck.at("global_step").as_int() == epochs * 7);
  CHECK(ck.at("hyper_parameters").at("lr").as_double() == 1e-3);
  CHECK(ck.at("optimizer_states").size() == 1);

  // LitClassifier.load_from_checkpoint("model.ckpt"): no constructor arguments needed.
  auto best = L::load_from_checkpoint<LitClassifier>(path);
  CHECK(best->hparam<int>("hidden") == 128);
  CHECK(best->hparam<double>("lr") == 1e-3);
  CHECK(flat(best->parameters()) == flat(model.parameters()));
  // load_from_checkpoint("model.ckpt", lr=1e-4): the override wins, the rest is as saved.
  auto tuned = L::load_from_checkpoint<LitClassifier>(path, {{"lr", 1e-4}});
  CHECK(tuned->hparam<double>("lr") == 1e-4);
  CHECK(tuned->hparam<int>("in_dim") == 784);
  CHECK(flat(tuned->parameters()) == flat(model.parameters()));

  // torch.load("model.ckpt", weights_only=False)["state_dict"], in Python (Debian's
  // python3-torch, as tests/serialize_interop_test): the keys and each tensor's sum.
  {
    std::string probe;
    if (fulgur::testing::run_command("/usr/bin/python3 -c 'import torch'", probe) != 0) {
      MESSAGE("SKIPPED: torch.load check: /usr/bin/python3 with torch is not available (python3-torch)");
    } else {
      const std::string script =
          "import sys, torch\n"
          "ck = torch.load(sys.argv[1], weights_only=False)\n"
          "sd = ck['state_dict']\n"
          "for k, v in sd.items(): print(k, type(v).__name__, str(v.dtype), repr(float(v.double().sum())))\n"
          "print('hparams', ck['hyper_parameters']['lr'], ck['hyper_parameters']['hidden'], ck['epoch'])\n";
      const std::string script_path = tmp_file("torch_load.py");
      std::ofstream(script_path) << script;
      std::string out;
      const int rc = fulgur::testing::run_command("/usr/bin/python3 " + fulgur::testing::shell_quoted(script_path) +
                                                      " " + fulgur::testing::shell_quoted(path),
                                                  out);
      INFO(out);
      REQUIRE(rc == 0);
      std::istringstream lines(out);
      std::string line;
      for (const auto& [name, t] : model.state_dict()) {
        REQUIRE(std::getline(lines, line));
        std::istringstream fields(line);
        std::string key, type, dtype;
        double sum = 0;
        fields >> key >> type >> dtype >> sum;
        CHECK(key == name);
        CHECK(type == "Tensor");
        CHECK(dtype == "torch.float32");
        CHECK(sum == doctest::Approx(t.to(DType::Float64).sum().item<double>()).epsilon(1e-12));
      }
      REQUIRE(std::getline(lines, line));
      CHECK(line == "hparams 0.001 128 " + std::to_string(epochs));
    }
  }

  // trainer.fit(model, datamodule=dm, ckpt_path="model.ckpt"): the run goes on from the saved
  // epoch, step and optimizer state (bit-identical resumes: tests/trainer_checkpoint_test).
  {
    LitClassifier resumed;
    auto ckpt2 = std::make_shared<L::callbacks::ModelCheckpoint>(
        L::callbacks::ModelCheckpointOptions{.monitor = "val_loss", .mode = "min", .save_top_k = 1});
    L::Trainer again({.callbacks = {ckpt2},
                      .max_epochs = epochs + 1,
                      .enable_progress_bar = false,
                      .enable_model_summary = false});
    again.fit(resumed, dm, {.ckpt_path = path});
    CHECK(again.ckpt_path() == path);
    CHECK(again.current_epoch() == epochs + 1);
    CHECK(again.global_step() == (epochs + 1) * 7);  // one more epoch, counted on from the checkpoint
    // Adam's per-parameter step counter came back with the optimizer state.
    const Value state = again.optimizers()[0]->state_dict();
    for (const Value::Item& item : state.at("state").items()) {
      CHECK(item.second.at("step").as_tensor().item<double>() == (epochs + 1) * 7);
    }
  }

  // best.to_onnx("model.onnx", torch.randn(1, 784), export_params=True), then the file runs in
  // our ONNX runtime without LitClassifier (api.md's stand-in for torch.export / model.pt2).
  const std::string onnx_path = tmp_file("model.onnx");
  best->eval();
  const Tensor sample = randn({1, 784});
  best->to_onnx(onnx_path, sample, {.export_params = true});
  const onnx::InferenceSession session(onnx_path);
  for (const Tensor& x : {sample, randn({3, 784})}) {  // the batch axis is dynamic
    const std::vector<Tensor> out = session.run({x});
    REQUIRE(out.size() == 1);
    NoGradGuard no_grad;
    const Tensor expected = best->forward(x);
    CHECK(out[0].sizes() == expected.sizes());
    CHECK(allclose(out[0], expected, 1e-5, 1e-6));
  }
}

namespace {

// The cheatsheet's logging lines that the LitClassifier does not use.
class Logs : public L::LightningModule {
 public:
  Logs() { layer = register_module("layer", nn::Linear(2, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    Tensor loss = F::mse_loss(forward(x), y);
    log("loss", loss, {.on_step = true, .on_epoch = true});  // control step vs epoch reduce
    return {{"loss", loss}};  // "or a dict with "loss""
  }
  void validation_step(const L::Batch&, int64_t batch_idx) override {
    // self.log_dict({"acc": acc, "f1": f1}): two keys, each an epoch mean (validation's default).
    log_dict({{"acc", static_cast<double>(batch_idx)}, {"f1", 10.0 * batch_idx}});
  }
  L::OptimizerConfig configure_optimizers() override {
    auto opt = std::make_shared<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.1});
    sgd = opt.get();
    // {"scheduler": sched, "interval": "epoch", "monitor": "val_loss"}, on "acc" here.
    auto plateau = std::make_shared<optim::ReduceLROnPlateau>(
        *opt, optim::ReduceLROnPlateauOptions{.mode = optim::PlateauMode::Max, .factor = 0.5, .patience = 0});
    return {opt, {.scheduler = plateau, .interval = "epoch", .monitor = "acc"}};
  }
  std::shared_ptr<nn::Linear> layer;
  optim::Optimizer* sgd = nullptr;
};

}  // namespace

TEST_CASE("seed cheatsheet: log_dict, on_step+on_epoch, {\"loss\": ...}, a monitored epoch scheduler, CSVLogger") {
  manual_seed(0);
  Tensor x = randn({16, 2});
  Tensor y = x.matmul(tensor<float>({1.0f, -1.0f}).reshape({2, 1}));
  auto ds = std::make_shared<data::TensorDataset>(x, y);
  Logs model;
  // L.Trainer(logger=CSVLogger("logs")), as api.md writes it.
  L::Trainer trainer({.max_epochs = 3,
                      .logger = L::loggers::CSVLogger("logs"),
                      .num_sanity_val_steps = 0,
                      .log_every_n_steps = 1,
                      .enable_checkpointing = false,
                      .enable_progress_bar = false,
                      .enable_model_summary = false});
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 4}), data::DataLoader(ds, {.batch_size = 4}));
  // log_dict in validation_step: batch_idx 0..3, each batch of 4, so the epoch means are 1.5 and 15.
  CHECK(trainer.callback_metrics().at("acc") == doctest::Approx(1.5));
  CHECK(trainer.callback_metrics().at("f1") == doctest::Approx(15.0));
  // on_step + on_epoch: loss_step and loss_epoch (Lightning's forked names), logged every step.
  CHECK(trainer.logged_metrics().count("loss_step") == 1);
  CHECK(trainer.logged_metrics().count("loss_epoch") == 1);
  std::ifstream csv("logs/lightning_logs/version_0/metrics.csv");
  std::string header;
  REQUIRE(std::getline(csv, header));
  CHECK(header == "acc,epoch,f1,loss_epoch,loss_step,step\r");  // sorted keys + step (CSVLogger)
  CHECK(trainer.global_step() == 12);  // the dict's "loss" was stepped: 4 batches x 3 epochs
  // "acc" is 1.5 at every epoch end: an improvement once (from -inf), then two epochs without
  // one; patience 0 halves the lr at each (ReduceLROnPlateau's rule): 0.1 -> 0.05 -> 0.025.
  CHECK(model.sgd->get_lr() == doctest::Approx(0.025));
  // The flag table's TensorBoardLogger(...), in the same positional form.
  const L::loggers::TensorBoardLogger tensorboard("tb_logs");
  CHECK(tensorboard.save_dir() == std::optional<std::string>("tb_logs"));
  CHECK(tensorboard.name() == "lightning_logs");
}
