// L::callbacks::ModelCheckpoint and the Trainer's checkpoint plumbing: a module logs a scripted
// metric (one value per validation run, 2 optimizer steps per epoch), and each test lists the
// files really written, loads them back with fulgur::load, and checks the callback's
// bookkeeping against what Lightning's ModelCheckpoint does with the same sequence
// (expectations worked out by hand from Lightning 2.x's _update_best_and_save, in comments).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
namespace C = fulgur::lightning::callbacks;
namespace fs = std::filesystem;

namespace {

class Scripted : public L::LightningModule {
 public:
  // `first_run`: the index of the first validation run (a resumed fit continues the script).
  explicit Scripted(std::vector<double> script, int64_t first_run = 0) : script_(std::move(script)), run_(first_run) {
    manual_seed(1);
    layer = register_module("layer", nn::Linear(1, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  void validation_step(const L::Batch&, int64_t) override {
    const size_t i = std::min<size_t>(static_cast<size_t>(run_), script_.size() - 1);
    log(metric_name, script_[i]);
  }
  // Records the weights each validation saw, so a test can tell which epoch a file holds.
  void on_validation_end() override {
    if (trainer().sanity_checking()) return;
    weights.push_back(layer->weight.item<double>());
    ++run_;
  }
  void test_step(const L::Batch&, int64_t) override { log("w", layer->weight.item<double>()); }
  Tensor predict_step(const L::Batch& batch, int64_t) override { return forward(batch.tensor(0)); }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }

  std::shared_ptr<nn::Linear> layer;
  std::string metric_name = "val_loss";
  std::vector<double> weights;  // per validation run

 private:
  std::vector<double> script_;
  int64_t run_;
};

std::shared_ptr<data::TensorDataset> dataset() {
  manual_seed(0);
  Tensor x = randn({4, 1});  // drawn before y (argument evaluation order is unspecified)
  Tensor y = randn({4, 1});
  return std::make_shared<data::TensorDataset>(x, y);
}

// A fresh, empty folder under Bazel's per-test directory (canonical, as ModelCheckpoint
// makes its dirpath).
std::string fresh_dir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const fs::path p = (dir != nullptr ? fs::path(dir) : fs::temp_directory_path()) / ("fulgur_mc_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return fs::canonical(p).string();
}

// Every file under `dir`, relative to it.
std::set<std::string> files_in(const std::string& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!fs::is_directory(e.symlink_status())) out.insert(e.path().lexically_relative(dir).string());  // links not followed
  }
  return out;
}

// The checkpoint files under `dir` (loggers write their own files next to them).
std::set<std::string> ckpt_files_in(const std::string& dir) {
  std::set<std::string> out;
  for (const std::string& f : files_in(dir)) {
    if (fs::path(f).extension() == ".ckpt") out.insert(f);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string in(const std::string& dir, const std::string& name) { return (fs::path(dir) / name).string(); }

// fit over 2 batches of 2 (2 steps per epoch), validation every epoch end.
void fit(Scripted& model, L::Trainer& trainer, L::FitOptions options = {}) {
  auto ds = dataset();
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 2}), data::DataLoader(ds, {.batch_size = 4}), options);
}

L::TrainerOptions topts(std::shared_ptr<C::ModelCheckpoint> ckpt, int64_t epochs, const std::string& root) {
  return {.callbacks = {std::move(ckpt)}, .max_epochs = epochs, .enable_progress_bar = false,
          .enable_model_summary = false, .default_root_dir = root};
}

struct Run {
  std::shared_ptr<C::ModelCheckpoint> ckpt;
  std::string dir;
  std::vector<double> weights;
};

// Fits `epochs` epochs of `script` with a ModelCheckpoint writing to a fresh folder.
Run run(const std::string& name, std::vector<double> script, C::ModelCheckpointOptions options, int64_t epochs = 5) {
  const std::string dir = fresh_dir(name);
  options.dirpath = dir;
  auto ckpt = std::make_shared<C::ModelCheckpoint>(options);
  Scripted model(std::move(script));
  L::Trainer trainer(topts(ckpt, epochs, fresh_dir(name + "_root")));
  fit(model, trainer);
  return {ckpt, dir, model.weights};
}

const std::vector<double> kScript = {5, 3, 4, 1, 2};

}  // namespace

TEST_CASE("model checkpoint: format_checkpoint_name (Lightning's doctests and name tests)") {
  const std::string dir = fresh_dir("format");
  C::ModelCheckpoint epoch_only({.dirpath = dir, .filename = "{epoch}"});
  CHECK(epoch_only.format_checkpoint_name({{"epoch", 0}}) == in(dir, "epoch=0.ckpt"));
  C::ModelCheckpoint padded({.dirpath = dir, .filename = "{epoch:03d}"});
  CHECK(padded.format_checkpoint_name({{"epoch", 5}}) == in(dir, "epoch=005.ckpt"));
  C::ModelCheckpoint two({.dirpath = dir, .filename = "{epoch}-{val_loss:.2f}"});
  CHECK(two.format_checkpoint_name({{"epoch", 2}, {"val_loss", 0.123456}}) == in(dir, "epoch=2-val_loss=0.12.ckpt"));
  CHECK(two.format_checkpoint_name({{"epoch", 2}, {"val_loss", 0.12}}, "{epoch:d}") == in(dir, "epoch=2.ckpt"));
  C::ModelCheckpoint literal(
      {.dirpath = dir, .filename = "epoch={epoch}-validation_loss={val_loss:.2f}", .auto_insert_metric_name = false});
  CHECK(literal.format_checkpoint_name({{"epoch", 2}, {"val_loss", 0.123456}}) ==
        in(dir, "epoch=2-validation_loss=0.12.ckpt"));
  // A key that was never logged formats as the integer 0.
  C::ModelCheckpoint missing({.dirpath = dir, .filename = "{missing:d}"});
  CHECK(missing.format_checkpoint_name({}) == in(dir, "missing=0.ckpt"));
  // No dirpath: the bare name; default template "{epoch}-{step}"; versions.
  C::ModelCheckpoint bare({.filename = "{step}"});
  CHECK(bare.format_checkpoint_name({{"step", 0}}) == "step=0.ckpt");
  C::ModelCheckpoint defaults({.monitor = "early_stop_on"});
  CHECK(defaults.format_checkpoint_name({{"epoch", 3}, {"step", 2}}) == "epoch=3-step=2.ckpt");
  CHECK(C::ModelCheckpoint({.dirpath = ""}).format_checkpoint_name({{"epoch", 5}, {"step", 4}}) ==
        "epoch=5-step=4.ckpt");
  CHECK(C::ModelCheckpoint({.dirpath = "."}).format_checkpoint_name({{"epoch", 3}, {"step", 4}}) ==
        (fs::current_path() / "epoch=3-step=4.ckpt").string());
  C::ModelCheckpoint named({.dirpath = dir, .filename = "name"});
  CHECK(named.format_checkpoint_name({}, std::nullopt, 3) == in(dir, "name-v3.ckpt"));
  // Float metrics without a spec print as Python's repr; a name that prefixes another.
  CHECK(C::ModelCheckpoint({.filename = "{epoch:03d}-{acc}"}).format_checkpoint_name({{"epoch", 3}, {"acc", 0.03}}) ==
        "epoch=003-acc=0.03.ckpt");
  CHECK(C::ModelCheckpoint({.filename = "{epoch:03d}-{epoch_test:.1f}"})
            .format_checkpoint_name({{"epoch", 3}, {"epoch_test", 3}}) == "epoch=003-epoch_test=3.0.ckpt");
  C::ModelCheckpoint joined({.filename = "{epoch},{acc:.5f}"});
  joined.CHECKPOINT_JOIN_CHAR = "@";  // used by the version suffix
  CHECK(joined.format_checkpoint_name({{"epoch", 3}, {"acc", 0.03}}, std::nullopt, 1) == "epoch=3,acc=0.03000@v1.ckpt");
  // '/' in a metric name: a subfolder with auto_insert_metric_name, as in Lightning.
  CHECK(C::ModelCheckpoint({.filename = "{epoch}_{val/loss:.5f}"})
            .format_checkpoint_name({{"epoch", 4}, {"val/loss", 0.03}}) == "epoch=4_val/loss=0.03000.ckpt");
  CHECK(C::ModelCheckpoint({.filename = "epoch={epoch:03d}-val_acc={val/acc}", .auto_insert_metric_name = false})
            .format_checkpoint_name({{"epoch", 3}, {"val/acc", 0.03}}) == "epoch=003-val_acc=0.03.ckpt");
  CHECK(C::ModelCheckpoint({.filename = "mAP@0.50={val/mAP@0.50:.4f}", .auto_insert_metric_name = false})
            .format_checkpoint_name({{"val/mAP@0.50", 0.2}}) == "mAP@0.50=0.2000.ckpt");
  // Python's format-spec details: width/alignment, sign, exponent, percent, literal braces.
  CHECK(C::ModelCheckpoint({.filename = "{epoch:>4}|{loss:+.1e}|{acc:.0%}"})
            .format_checkpoint_name({{"epoch", 7}, {"loss", 0.00123}, {"acc", 0.5}}) ==
        "epoch=   7|loss=+1.2e-03|acc=50%.ckpt");
  CHECK_THROWS_WITH_AS(C::ModelCheckpoint({.filename = "{val_loss:d}"}).format_checkpoint_name({{"val_loss", 0.5}}),
                       doctest::Contains("Unknown format code 'd' for object of type 'float'"), Error);
}

TEST_CASE("model checkpoint: the cheatsheet's arguments in the cheatsheet's order (api.md's line)") {
  L::callbacks::ModelCheckpoint ckpt({.monitor = "val_loss", .mode = "min", .save_top_k = 1});
  CHECK(ckpt.monitor() == "val_loss");
  CHECK(ckpt.mode() == "min");
  CHECK(ckpt.save_top_k() == 1);
  const L::callbacks::ModelCheckpoint best_two({.monitor = "val_acc", .mode = "max", .save_top_k = 2});
  CHECK(best_two.mode() == "max");
  CHECK(best_two.save_top_k() == 2);
}

TEST_CASE("model checkpoint: save_top_k=1 in min mode keeps only the best file") {
  // val_loss 5, 3, 4, 1, 2: best after each epoch 5, 3, 3, 1, 1; epoch 1 replaces epoch 0, epoch 3
  // replaces epoch 1; epochs 2 and 4 are not in the top 1.
  Run r = run("top1", kScript, {.filename = "{epoch}-{val_loss:.2f}", .monitor = "val_loss"});
  CHECK(files_in(r.dir) == std::set<std::string>{"epoch=3-val_loss=1.00.ckpt"});
  CHECK(r.ckpt->best_model_path() == in(r.dir, "epoch=3-val_loss=1.00.ckpt"));
  CHECK(r.ckpt->best_model_score() == 1.0);
  CHECK(r.ckpt->kth_best_model_path() == r.ckpt->best_model_path());
  CHECK(r.ckpt->kth_value() == 1.0);
  CHECK(r.ckpt->current_score() == 1.0);  // the last score saved (epoch 4's 2 was not)
  REQUIRE(r.ckpt->best_k_models().size() == 1);
  // The file holds epoch 3's state: its epoch, steps, weights and this callback's state.
  const Value ck = fulgur::load(r.ckpt->best_model_path());
  CHECK(ck.at("epoch").as_int() == 3);
  CHECK(ck.at("global_step").as_int() == 8);
  CHECK(ck.at("state_dict").at("layer.weight").as_tensor().item<double>() == r.weights[3]);
  CHECK(ck.contains("optimizer_states"));
  const Value& state = ck.at("callbacks").at(r.ckpt->state_key());
  CHECK(state.at("best_model_path").as_string() == r.ckpt->best_model_path());
  CHECK(state.at("best_model_score").to_double() == 1.0);
  CHECK(state.at("monitor").as_string() == "val_loss");
  CHECK(state.at("dirpath").as_string() == r.dir);
}

TEST_CASE("model checkpoint: save_top_k=3, min and max mode") {
  // min: {e0:5} {e0,e1:3} {e0,e1,e2:4} -> kth e0; 1 < 5 drops e0 -> kth e2 (4); 2 < 4 drops e2
  // -> {e1:3, e3:1, e4:2}, kth e1 (3), best e3.
  Run r = run("top3min", kScript, {.filename = "{epoch}", .monitor = "val_loss", .save_top_k = 3});
  CHECK(files_in(r.dir) == std::set<std::string>{"epoch=1.ckpt", "epoch=3.ckpt", "epoch=4.ckpt"});
  using Models = std::vector<std::pair<std::string, double>>;
  CHECK(r.ckpt->best_k_models() ==
        Models{{in(r.dir, "epoch=1.ckpt"), 3.0}, {in(r.dir, "epoch=3.ckpt"), 1.0}, {in(r.dir, "epoch=4.ckpt"), 2.0}});
  CHECK(r.ckpt->kth_best_model_path() == in(r.dir, "epoch=1.ckpt"));
  CHECK(r.ckpt->kth_value() == 3.0);
  CHECK(r.ckpt->best_model_path() == in(r.dir, "epoch=3.ckpt"));
  CHECK(r.ckpt->best_model_score() == 1.0);
  // to_yaml: {path: score}, keys sorted (PyYAML's yaml.dump), next to the checkpoints.
  r.ckpt->to_yaml();
  const Value yaml = fulgur::parse_yaml(read_file(in(r.dir, "best_k_models.yaml")));
  std::vector<std::string> keys;
  for (const auto& k : yaml.keys()) keys.push_back(k.as_string());
  CHECK(keys == std::vector<std::string>{in(r.dir, "epoch=1.ckpt"), in(r.dir, "epoch=3.ckpt"), in(r.dir, "epoch=4.ckpt")});
  CHECK(yaml.at(in(r.dir, "epoch=4.ckpt")).as_double() == 2.0);

  // max: e0 5, e1 3, e2 4 fill the top 3 (kth = e1, 3); 1 and 2 never beat 3.
  Scripted model(kScript);
  model.metric_name = "val_acc";
  const std::string dir = fresh_dir("top3max_b");
  auto ckpt = std::make_shared<C::ModelCheckpoint>(
      C::ModelCheckpointOptions{.dirpath = dir, .filename = "{epoch}", .monitor = "val_acc", .mode = "max",
                                .save_top_k = 3});
  L::Trainer trainer(topts(ckpt, 5, fresh_dir("top3max_root")));
  fit(model, trainer);
  CHECK(files_in(dir) == std::set<std::string>{"epoch=0.ckpt", "epoch=1.ckpt", "epoch=2.ckpt"});
  CHECK(ckpt->best_model_path() == in(dir, "epoch=0.ckpt"));
  CHECK(ckpt->best_model_score() == 5.0);
  CHECK(ckpt->kth_best_model_path() == in(dir, "epoch=1.ckpt"));
  CHECK(ckpt->kth_value() == 3.0);
}

TEST_CASE("model checkpoint: a monitored key that is never logged (Lightning's message)") {
  CHECK_THROWS_WITH_AS(run("missing", kScript, {.monitor = "val_acc"}),
                       doctest::Contains("`ModelCheckpoint(monitor='val_acc')` could not find the monitored key in the "
                                         "returned metrics: ['val_loss', 'epoch', 'step']. HINT: Did you call "
                                         "`log('val_acc', value)` in the `LightningModule`?"),
                       Error);
}

TEST_CASE("model checkpoint: save_top_k -1 keeps all, 0 keeps none; no monitor keeps the latest") {
  Run all = run("all", kScript, {.filename = "{epoch}", .monitor = "val_loss", .save_top_k = -1});
  CHECK(files_in(all.dir) ==
        std::set<std::string>{"epoch=0.ckpt", "epoch=1.ckpt", "epoch=2.ckpt", "epoch=3.ckpt", "epoch=4.ckpt"});
  CHECK(all.ckpt->best_k_models().size() == 5);
  CHECK(all.ckpt->best_model_path() == in(all.dir, "epoch=3.ckpt"));
  CHECK(all.ckpt->kth_best_model_path() == in(all.dir, "epoch=0.ckpt"));  // the worst (5) when k grows with the dict
  CHECK(all.ckpt->kth_value() == 5.0);

  Run none = run("none", kScript, {.monitor = "val_loss", .save_top_k = 0});
  CHECK(files_in(none.dir).empty());
  CHECK(none.ckpt->best_model_path().empty());
  CHECK(!none.ckpt->best_model_score().has_value());

  // monitor=None, save_top_k=1 (the default ModelCheckpoint): the latest epoch only.
  Run latest = run("latest", kScript, {});
  CHECK(files_in(latest.dir) == std::set<std::string>{"epoch=4-step=10.ckpt"});
  CHECK(latest.ckpt->best_model_path() == in(latest.dir, "epoch=4-step=10.ckpt"));
  CHECK(!latest.ckpt->best_model_score().has_value());
  CHECK(latest.ckpt->best_k_models().empty());

  Run every = run("every", kScript, {.save_top_k = -1}, 3);
  CHECK(files_in(every.dir) == std::set<std::string>{"epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt",
                                                     "epoch=2-step=6.ckpt"});
}

TEST_CASE("model checkpoint: save_last true and \"link\"") {
  Run r = run("last", kScript, {.filename = "{epoch}", .monitor = "val_loss", .save_last = true});
  CHECK(files_in(r.dir) == std::set<std::string>{"epoch=3.ckpt", "last.ckpt"});
  CHECK(r.ckpt->last_model_path() == in(r.dir, "last.ckpt"));
  CHECK(!fs::is_symlink(in(r.dir, "last.ckpt")));
  const Value last = fulgur::load(in(r.dir, "last.ckpt"));
  CHECK(last.at("epoch").as_int() == 4);
  CHECK(last.at("global_step").as_int() == 10);
  CHECK(last.at("callbacks").at(r.ckpt->state_key()).at("last_model_path").as_string() == in(r.dir, "last.ckpt"));

  // "link": last.ckpt points at the last checkpoint actually written. Epoch 4 (2 > 1) is not
  // in the top 1, so the link still points at epoch 3's file.
  Run l = run("link", kScript, {.filename = "{epoch}", .monitor = "val_loss", .save_last = "link"});
  CHECK(files_in(l.dir) == std::set<std::string>{"epoch=3.ckpt", "last.ckpt"});
  REQUIRE(fs::is_symlink(in(l.dir, "last.ckpt")));
  CHECK(fs::read_symlink(in(l.dir, "last.ckpt")).string() == in(l.dir, "epoch=3.ckpt"));
  CHECK(fulgur::load(in(l.dir, "last.ckpt")).at("epoch").as_int() == 3);

  // save_top_k=0 with "link": nothing to link to, so last.ckpt is a real file.
  Run z = run("link0", kScript, {.monitor = "val_loss", .save_last = "link", .save_top_k = 0});
  CHECK(files_in(z.dir) == std::set<std::string>{"last.ckpt"});
  CHECK(!fs::is_symlink(in(z.dir, "last.ckpt")));
}

TEST_CASE("model checkpoint: every_n_epochs and every_n_train_steps") {
  // Epochs 1 and 3 (every second); save_last is not affected.
  Run e = run("every2", kScript, {.save_last = true, .save_top_k = -1, .every_n_epochs = 2});
  CHECK(files_in(e.dir) == std::set<std::string>{"epoch=1-step=4.ckpt", "epoch=3-step=8.ckpt", "last.ckpt"});
  CHECK(fulgur::load(in(e.dir, "last.ckpt")).at("global_step").as_int() == 10);
  CHECK(e.ckpt->every_n_epochs() == 2);

  // Steps 3 and 6 (2 steps per epoch), saved at the batch end; nothing at epoch ends.
  Run s = run("steps3", kScript, {.save_top_k = -1, .every_n_train_steps = 3}, 3);
  CHECK(files_in(s.dir) == std::set<std::string>{"epoch=1-step=3.ckpt", "epoch=2-step=6.ckpt"});
  const Value mid = fulgur::load(in(s.dir, "epoch=1-step=3.ckpt"));
  CHECK(mid.at("global_step").as_int() == 3);
  CHECK(mid.at("epoch").as_int() == 1);
  CHECK(s.ckpt->every_n_epochs() == 0);  // Lightning: given a step trigger, no epoch trigger
  CHECK(s.ckpt->state_key() ==
        "ModelCheckpoint{'monitor': None, 'mode': 'min', 'every_n_train_steps': 3, 'every_n_epochs': 0, "
        "'train_time_interval': None}");
}

TEST_CASE("model checkpoint: train_time_interval saves at batch ends once the interval has passed") {
  // 1 microsecond always passes between two batch ends: a save at every step.
  Run t = run("time", kScript, {.save_top_k = -1, .train_time_interval = std::chrono::microseconds(1)}, 2);
  CHECK(files_in(t.dir) == std::set<std::string>{"epoch=0-step=1.ckpt", "epoch=0-step=2.ckpt", "epoch=1-step=3.ckpt",
                                                 "epoch=1-step=4.ckpt"});
  // An hour never passes here: nothing saved (every_n_epochs is 0 once a time trigger is given).
  Run h = run("hour", kScript, {.save_top_k = -1, .train_time_interval = std::chrono::hours(1)}, 2);
  CHECK(files_in(h.dir).empty());
}

TEST_CASE("model checkpoint: version suffixes on name collisions (enable_version_counter)") {
  // Scores 5, 3, 4 all kept: the second and third files get -v1, -v2.
  Run v = run("versions", kScript, {.filename = "const", .monitor = "val_loss", .save_top_k = -1}, 3);
  CHECK(files_in(v.dir) == std::set<std::string>{"const.ckpt", "const-v1.ckpt", "const-v2.ckpt"});
  CHECK(v.ckpt->best_model_path() == in(v.dir, "const-v1.ckpt"));  // 3
  CHECK(fulgur::load(in(v.dir, "const-v2.ckpt")).at("epoch").as_int() == 2);

  Run o = run("overwrite", kScript,
              {.filename = "const", .monitor = "val_loss", .save_top_k = -1, .enable_version_counter = false}, 3);
  CHECK(files_in(o.dir) == std::set<std::string>{"const.ckpt"});
  CHECK(fulgur::load(in(o.dir, "const.ckpt")).at("epoch").as_int() == 2);
  // One dict entry, holding the last score written under that name.
  using Models = std::vector<std::pair<std::string, double>>;
  CHECK(o.ckpt->best_k_models() == Models{{in(o.dir, "const.ckpt"), 4.0}});

  // Without monitor, the file being replaced (the previous best_model_path) is not a
  // collision: Lightning overwrites it, for save_top_k 1 and -1 alike.
  Run k1 = run("replace", kScript, {.filename = "const"}, 3);
  CHECK(files_in(k1.dir) == std::set<std::string>{"const.ckpt"});
  Run all = run("replace_all", kScript, {.filename = "const", .save_top_k = -1}, 3);
  CHECK(files_in(all.dir) == std::set<std::string>{"const.ckpt"});
}

TEST_CASE("model checkpoint: '/' in metric names makes subfolders unless auto_insert_metric_name=false") {
  Scripted model(kScript);
  model.metric_name = "val/loss";
  const std::string dir = fresh_dir("slash");
  auto ckpt = std::make_shared<C::ModelCheckpoint>(
      C::ModelCheckpointOptions{.dirpath = dir, .filename = "{epoch}-{val/loss:.1f}", .monitor = "val/loss"});
  L::Trainer trainer(topts(ckpt, 2, fresh_dir("slash_root")));
  fit(model, trainer);
  CHECK(files_in(dir) == std::set<std::string>{"epoch=1-val/loss=3.0.ckpt"});

  Scripted model2(kScript);
  model2.metric_name = "val/loss";
  const std::string dir2 = fresh_dir("slash2");
  auto ckpt2 = std::make_shared<C::ModelCheckpoint>(C::ModelCheckpointOptions{
      .dirpath = dir2, .filename = "e{epoch}-loss{val/loss:.1f}", .monitor = "val/loss", .auto_insert_metric_name = false});
  L::Trainer trainer2(topts(ckpt2, 2, fresh_dir("slash2_root")));
  fit(model2, trainer2);
  CHECK(files_in(dir2) == std::set<std::string>{"e1-loss3.0.ckpt"});
}

TEST_CASE("model checkpoint: save_weights_only files lack the training state") {
  Run w = run("weights", kScript, {.filename = "w", .save_weights_only = true}, 1);
  const Value ck = fulgur::load(in(w.dir, "w.ckpt"));
  CHECK(ck.contains("state_dict"));
  CHECK(ck.at("epoch").as_int() == 0);
  CHECK(ck.at("global_step").as_int() == 2);
  for (const char* key : {"optimizer_states", "lr_schedulers", "loops", "callbacks"}) {
    CAPTURE(key);
    CHECK(!ck.contains(key));
  }
  // Resuming a fit from it is Lightning's error.
  Scripted model(kScript);
  L::Trainer trainer({.max_epochs = 2, .enable_progress_bar = false, .default_root_dir = fresh_dir("weights_root")});
  CHECK_THROWS_WITH_AS(fit(model, trainer, {.ckpt_path = in(w.dir, "w.ckpt")}),
                       doctest::Contains("Trying to restore optimizer state but checkpoint contains only the model. "
                                         "This is probably due to `ModelCheckpoint.save_weights_only` being set to "
                                         "`True`."),
                       Error);
}

TEST_CASE("model checkpoint: state_dict round trip and ckpt_path=\"last\" keeps the top-k bookkeeping") {
  const C::ModelCheckpointOptions options{.filename = "{epoch}", .monitor = "val_loss", .save_last = true,
                                          .save_top_k = 2};
  // The whole fit at once, as the reference.
  Run whole = run("resume_whole", kScript, options);
  // 3 epochs, then a new Trainer and callback resume from last.ckpt for 2 more.
  const std::string dir = fresh_dir("resume");
  const std::string root = fresh_dir("resume_root");
  C::ModelCheckpointOptions o = options;
  o.dirpath = dir;
  {
    auto ckpt = std::make_shared<C::ModelCheckpoint>(o);
    Scripted model(kScript);
    L::Trainer trainer(topts(ckpt, 3, root));
    fit(model, trainer);
    // {e0:5, e1:3} then 4 < 5 replaces e0: {e1:3, e2:4}.
    CHECK(files_in(dir) == std::set<std::string>{"epoch=1.ckpt", "epoch=2.ckpt", "last.ckpt"});
    // The saved state equals the callback's.
    const Value state = fulgur::load(in(dir, "last.ckpt")).at("callbacks").at(ckpt->state_key());
    C::ModelCheckpoint restored(o);
    restored.load_state_dict(state);
    CHECK(restored.best_k_models() == ckpt->best_k_models());
    CHECK(restored.best_model_path() == ckpt->best_model_path());
    CHECK(restored.best_model_score() == ckpt->best_model_score());
    CHECK(restored.kth_best_model_path() == ckpt->kth_best_model_path());
    CHECK(restored.kth_value() == ckpt->kth_value());
    CHECK(restored.last_model_path() == in(dir, "last.ckpt"));
    std::vector<std::string> keys;
    for (const auto& k : state.keys()) keys.push_back(k.as_string());
    CHECK(keys == std::vector<std::string>{"monitor", "best_model_score", "best_model_path", "current_score", "dirpath",
                                           "best_k_models", "kth_best_model_path", "kth_value", "last_model_path"});
  }
  auto ckpt = std::make_shared<C::ModelCheckpoint>(o);
  Scripted model(kScript, 3);
  L::Trainer trainer(topts(ckpt, 5, root));
  fit(model, trainer, {.ckpt_path = "last"});
  CHECK(trainer.ckpt_path() == in(dir, "last.ckpt"));
  CHECK(trainer.current_epoch() == 5);
  CHECK(trainer.global_step() == 10);
  // Same files and scores as the uninterrupted fit: {e1:3, e3:1} after 1 replaced e2 (4), and
  // 2 replaced e1 (3): {e3:1, e4:2}.
  CHECK(files_in(dir) == files_in(whole.dir));
  CHECK(files_in(dir) == std::set<std::string>{"epoch=3.ckpt", "epoch=4.ckpt", "last.ckpt"});
  REQUIRE(ckpt->best_k_models().size() == whole.ckpt->best_k_models().size());
  for (size_t i = 0; i < ckpt->best_k_models().size(); ++i) {
    CHECK(fs::path(ckpt->best_k_models()[i].first).filename() ==
          fs::path(whole.ckpt->best_k_models()[i].first).filename());
    CHECK(ckpt->best_k_models()[i].second == whole.ckpt->best_k_models()[i].second);
  }
  CHECK(ckpt->best_model_path() == in(dir, "epoch=3.ckpt"));
  CHECK(ckpt->kth_value() == 2.0);
  CHECK(fulgur::load(in(dir, "last.ckpt")).at("epoch").as_int() == 4);
}

TEST_CASE("model checkpoint: ckpt_path=\"last\" without a last checkpoint warns and starts afresh") {
  Scripted model(kScript);
  L::Trainer trainer({.max_epochs = 1, .enable_progress_bar = false, .default_root_dir = fresh_dir("nolast")});
  fit(model, trainer, {.ckpt_path = "last"});
  CHECK(trainer.ckpt_path().empty());
  CHECK(trainer.global_step() == 2);
}

TEST_CASE("model checkpoint: validate/test/predict with ckpt_path \"best\", \"last\" and a path") {
  const std::string dir = fresh_dir("best");
  auto ckpt = std::make_shared<C::ModelCheckpoint>(
      C::ModelCheckpointOptions{.dirpath = dir, .monitor = "val_loss", .save_last = true});
  Scripted model(kScript);
  L::Trainer trainer(topts(ckpt, 5, fresh_dir("best_root")));
  fit(model, trainer);
  const double best_w = model.weights[3];  // val_loss 1 at epoch 3
  const double last_w = model.weights[4];
  REQUIRE(best_w != last_w);
  CHECK(model.layer->weight.item<double>() == last_w);
  auto test_ds = dataset();
  auto w_of = [](const std::vector<std::map<std::string, double>>& results) { return results.at(0).at("w"); };

  auto results = trainer.test(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = "best", .verbose = false});
  CHECK(w_of(results) == best_w);
  CHECK(trainer.ckpt_path() == ckpt->best_model_path());
  results = trainer.test(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = "last", .verbose = false});
  CHECK(w_of(results) == last_w);
  CHECK(trainer.ckpt_path() == in(dir, "last.ckpt"));
  // validate loads the weights too (its val_loss is the script's, the weights are epoch 3's).
  trainer.validate(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = "best", .verbose = false});
  CHECK(model.layer->weight.item<double>() == best_w);
  // A path; predict: forward with the loaded weights.
  trainer.test(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = in(dir, "last.ckpt"), .verbose = false});
  CHECK(model.layer->weight.item<double>() == last_w);
  const std::vector<Tensor> preds =
      trainer.predict(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = "best"});
  REQUIRE(preds.size() == 1);
  manual_seed(0);  // dataset()'s inputs
  const std::vector<double> x = testing::values(randn({4, 1}));
  CHECK(model.layer->weight.item<double>() == best_w);
  const std::vector<double> p = testing::values(preds[0]);
  REQUIRE(p.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(p[i] == doctest::Approx(best_w * x[i] + model.layer->bias.item<double>()));
  // The callback is not restored by eval runs (Lightning restores the module only).
  CHECK(ckpt->best_model_path() == in(dir, "epoch=3-step=8.ckpt"));
}

TEST_CASE("model checkpoint: ckpt_path=\"best\" errors (Lightning's messages)") {
  Scripted model(kScript);
  auto test_ds = dataset();
  L::Trainer no_callback({.enable_checkpointing = false, .enable_progress_bar = false});
  CHECK(no_callback.checkpoint_callback() == nullptr);
  CHECK_THROWS_WITH_AS(
      no_callback.test(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = "best", .verbose = false}),
      doctest::Contains("`.test(ckpt_path=\"best\")` is set but `ModelCheckpoint` is not configured."), Error);
  L::Trainer fresh({.enable_progress_bar = false, .default_root_dir = fresh_dir("fresh")});
  CHECK_THROWS_WITH_AS(
      fresh.validate(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = "best", .verbose = false}),
      doctest::Contains("`.validate(ckpt_path=\"best\")` is set but `ModelCheckpoint` is not configured to save the "
                        "best model."),
      Error);
  L::Trainer debug({.fast_dev_run = 1, .enable_progress_bar = false});
  CHECK_THROWS_WITH_AS(debug.predict(model, data::DataLoader(test_ds, {.batch_size = 4}), {.ckpt_path = "best"}),
                       doctest::Contains("You cannot execute `.predict(ckpt_path=\"best\")` with `fast_dev_run=True`."),
                       Error);
}

TEST_CASE("model checkpoint: option checks (Lightning's MisconfigurationException messages)") {
  CHECK_THROWS_WITH_AS(C::ModelCheckpoint({.save_top_k = -2}),
                       doctest::Contains("Invalid value for save_top_k=-2. Must be >= -1"), Error);
  CHECK_THROWS_WITH_AS(C::ModelCheckpoint({.save_top_k = 2}),
                       doctest::Contains("ModelCheckpoint(save_top_k=2, monitor=None) is not a valid configuration. No "
                                         "quantity for top_k to track."),
                       Error);
  CHECK_THROWS_WITH_AS(C::ModelCheckpoint({.mode = "avg"}), doctest::Contains("`mode` can be min, max but got avg"),
                       Error);
  CHECK_THROWS_WITH_AS(C::ModelCheckpoint({.every_n_train_steps = 2, .every_n_epochs = 1}),
                       doctest::Contains("Combination of parameters every_n_train_steps=2, every_n_epochs=1 and "
                                         "train_time_interval=None should be mutually exclusive."),
                       Error);
  CHECK_THROWS_WITH_AS(C::ModelCheckpoint({.every_n_epochs = -1}),
                       doctest::Contains("Invalid value for every_n_epochs=-1. Must be >= 0"), Error);
  CHECK_THROWS_WITH_AS(C::ModelCheckpoint({.save_last = "copy"}), doctest::Contains("\"link\""), Error);
  CHECK_THROWS_WITH_AS(L::Trainer({.callbacks = {std::make_shared<C::ModelCheckpoint>()},
                                   .enable_checkpointing = false}),
                       doctest::Contains("Trainer was configured with `enable_checkpointing=False` but found "
                                         "`ModelCheckpoint` in callbacks list."),
                       Error);
}

TEST_CASE("model checkpoint: state_key as Lightning's _generate_state_key") {
  CHECK(C::ModelCheckpoint().state_key() ==
        "ModelCheckpoint{'monitor': None, 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 1, "
        "'train_time_interval': None}");
  CHECK(C::ModelCheckpoint({.monitor = "val_acc", .mode = "max", .every_n_epochs = 3}).state_key() ==
        "ModelCheckpoint{'monitor': 'val_acc', 'mode': 'max', 'every_n_train_steps': 0, 'every_n_epochs': 3, "
        "'train_time_interval': None}");
  CHECK(C::ModelCheckpoint({.train_time_interval = std::chrono::seconds(90)}).state_key() ==
        "ModelCheckpoint{'monitor': None, 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 0, "
        "'train_time_interval': datetime.timedelta(seconds=90)}");
  CHECK(C::ModelCheckpoint({.train_time_interval = std::chrono::hours(25) + std::chrono::milliseconds(5)})
            .state_key()
            .find("datetime.timedelta(days=1, seconds=3600, microseconds=5000)") != std::string::npos);
}

namespace {
// A logger with a local folder: ModelCheckpoint's default dirpath comes from it.
class FolderLogger : public L::Logger {
 public:
  FolderLogger(std::optional<std::string> save_dir, Value version) : save_dir_(std::move(save_dir)), version_(version) {}
  std::string name() const override { return "lit"; }
  Value version() const override { return version_; }
  std::optional<std::string> save_dir() const override { return save_dir_; }
  void log_metrics(const std::map<std::string, double>&, std::optional<int64_t>) override {}
  void log_hyperparams(const Value&) override {}
  void after_save_checkpoint(const C::ModelCheckpoint& c) override { saved.push_back(c.last_model_path()); }
  std::vector<std::string> saved;

 private:
  std::optional<std::string> save_dir_;
  Value version_;
};
}  // namespace

TEST_CASE("model checkpoint: default dirpath (Lightning's __resolve_ckpt_dir) and after_save_checkpoint") {
  // No logger: default_root_dir/checkpoints; the Trainer adds the ModelCheckpoint itself.
  const std::string root = fresh_dir("default_root");
  {
    Scripted model(kScript);
    L::Trainer trainer({.max_epochs = 2, .logger = false, .enable_progress_bar = false, .default_root_dir = root});
    REQUIRE(trainer.checkpoint_callback() != nullptr);
    CHECK(trainer.checkpoint_callbacks().size() == 1);
    fit(model, trainer);
    CHECK(files_in(root) == std::set<std::string>{"checkpoints/epoch=1-step=4.ckpt"});
    CHECK(trainer.checkpoint_callback()->dirpath() == in(root, "checkpoints"));
  }
  // Lightning's default logger (TensorBoardLogger in default_root_dir): its version folder.
  {
    const std::string tb_root = fresh_dir("default_tb_root");
    Scripted model(kScript);
    L::Trainer trainer({.max_epochs = 1, .enable_progress_bar = false, .default_root_dir = tb_root});
    REQUIRE(trainer.logger() != nullptr);
    fit(model, trainer);
    CHECK(trainer.checkpoint_callback()->dirpath() == in(tb_root, "lightning_logs/version_0/checkpoints"));
    CHECK(ckpt_files_in(tb_root) == std::set<std::string>{"lightning_logs/version_0/checkpoints/epoch=0-step=2.ckpt"});
  }
  // The first logger's save_dir/name/version_N/checkpoints (a string version as it is; no
  // save_dir: default_root_dir).
  struct Case {
    std::optional<std::string> save_dir;
    Value version;
    std::string expected;
  };
  const std::string logs = fresh_dir("logs");
  const std::string root2 = fresh_dir("default_root2");
  for (const Case& c : {Case{logs, 3, in(logs, "lit/version_3/checkpoints")},
                        Case{logs, "exp", in(logs, "lit/exp/checkpoints")},
                        Case{std::nullopt, 0, in(root2, "lit/version_0/checkpoints")}}) {
    CAPTURE(c.expected);
    auto logger = std::make_shared<FolderLogger>(c.save_dir, c.version);
    auto ckpt = std::make_shared<C::ModelCheckpoint>(C::ModelCheckpointOptions{.save_last = true});
    Scripted model(kScript);
    L::Trainer trainer(
        {.callbacks = {ckpt}, .max_epochs = 2, .logger = logger, .enable_progress_bar = false, .default_root_dir = root2});
    fit(model, trainer);
    CHECK(ckpt->dirpath() == c.expected);
    CHECK(files_in(c.expected) == std::set<std::string>{"epoch=1-step=4.ckpt", "last.ckpt"});
    // Two saves per epoch (the top-k file, then last.ckpt), each reported to the logger.
    CHECK(logger->saved.size() == 4);
  }
}

TEST_CASE("model checkpoint: checkpoint callbacks run last; callback properties") {
  auto ckpt = std::make_shared<C::ModelCheckpoint>(C::ModelCheckpointOptions{.dirpath = fresh_dir("order")});
  auto es = std::make_shared<C::EarlyStopping>(C::EarlyStoppingOptions{.monitor = "val_loss"});
  Scripted model(kScript);
  L::Trainer trainer({.callbacks = {ckpt, es}, .max_epochs = 1, .enable_progress_bar = false,
                      .default_root_dir = fresh_dir("order_root")});
  CHECK(trainer.checkpoint_callback() == ckpt.get());
  CHECK(trainer.early_stopping_callback() == es.get());
  CHECK(trainer.early_stopping_callbacks().size() == 1);
  fit(model, trainer);
  // Lightning's _reorder_callbacks: checkpoint callbacks last (after the Trainer's own defaults).
  const auto& all = trainer.callbacks();
  REQUIRE(all.size() >= 2);
  CHECK(all.back() == ckpt);
  CHECK(std::find(all.begin(), all.end(), es) != all.end());
  CHECK(ckpt->is_monitoring());

  // A ModelCheckpoint from configure_callbacks replaces the Trainer's default one.
  struct WithCallback : Scripted {
    using Scripted::Scripted;
    std::vector<std::shared_ptr<L::Callback>> configure_callbacks() override { return {own}; }
    std::shared_ptr<C::ModelCheckpoint> own =
        std::make_shared<C::ModelCheckpoint>(C::ModelCheckpointOptions{.filename = "own"});
  };
  WithCallback with(kScript);
  const std::string root = fresh_dir("configure_root");
  L::Trainer trainer2({.max_epochs = 1, .logger = false, .enable_progress_bar = false, .default_root_dir = root});
  fit(with, trainer2);
  CHECK(trainer2.checkpoint_callbacks().size() == 1);
  CHECK(trainer2.checkpoint_callback() == with.own.get());
  CHECK(files_in(root) == std::set<std::string>{"checkpoints/own.ckpt"});
}

TEST_CASE("model checkpoint: nothing saved during the sanity check, by fast_dev_run, or outside fit") {
  const std::string root = fresh_dir("quiet");
  Scripted model(kScript);
  L::Trainer debug({.fast_dev_run = 2, .enable_progress_bar = false, .default_root_dir = root});
  fit(model, debug);
  CHECK(ckpt_files_in(root).empty());
  L::Trainer eval({.enable_progress_bar = false, .default_root_dir = root});
  auto ds = dataset();
  eval.validate(model, data::DataLoader(ds, {.batch_size = 4}), {.verbose = false});
  CHECK(ckpt_files_in(root).empty());
  // A fit whose val_check_interval splits the epoch saves after each validation instead.
  const std::string dir = fresh_dir("midepoch2");
  auto ckpt = std::make_shared<C::ModelCheckpoint>(
      C::ModelCheckpointOptions{.dirpath = dir, .filename = "{epoch}-{step}", .monitor = "val_loss", .save_top_k = -1});
  Scripted split(kScript);
  L::Trainer trainer({.callbacks = {ckpt}, .max_epochs = 1, .val_check_interval = 0.5, .enable_progress_bar = false,
                      .default_root_dir = fresh_dir("midepoch_root")});
  fit(split, trainer);
  // Validation after each of the 2 batches: saves at steps 1 and 2 (the sanity check saved none).
  CHECK(files_in(dir) == std::set<std::string>{"epoch=0-step=1.ckpt", "epoch=0-step=2.ckpt"});
}
