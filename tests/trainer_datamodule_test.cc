// L::LightningDataModule's defaults and L::Loaders: the errors Lightning raises for hooks a
// Trainer needs but the module lacks, and the loaders a hook hands over; save_hyperparameters()
// (checkpoint keys, the loggers' merged hparams, DataModule.load_from_checkpoint).
#include <fstream>
#include <iterator>

#include "fulgur/serialize/yaml.h"
#include "fulgur/trainer/datamodule.h"
#include "tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
namespace L = fulgur::lightning;

namespace {

// The default ModelCheckpoint (and logger) of Trainers without default_root_dir write into the
// current directory: make it this test's temp dir.
[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

class Ranges : public L::LightningDataModule {
 public:
  void setup(const std::string& stage) override {
    stages.push_back(stage);
    train_ = std::make_shared<data::TensorDataset>(std::vector<Tensor>{arange(10)});
  }
  L::Loaders train_dataloader() override { return data::DataLoader(train_, {.batch_size = 4}); }
  L::Loaders val_dataloader() override {
    std::vector<data::DataLoader> two;
    two.emplace_back(train_, data::DataLoaderOptions{.batch_size = 5});
    two.emplace_back(train_, data::DataLoaderOptions{.batch_size = 10});
    return two;
  }
  Value state_dict() const override { return Value::dict().set("stages", static_cast<int64_t>(stages.size())); }
  void load_state_dict(const Value& state) override { restored = state.at("stages").as_int(); }
  std::string name() const override { return "Ranges"; }

  std::vector<std::string> stages;
  int64_t restored = -1;

 private:
  std::shared_ptr<data::TensorDataset> train_;
};

}  // namespace

TEST_CASE("LightningDataModule: hooks, loaders and state") {
  Ranges dm;
  dm.prepare_data();
  dm.setup("fit");
  L::Loaders train = dm.train_dataloader();
  REQUIRE(train.size() == 1);
  CHECK(train[0].size() == 3);  // ceil(10 / 4)
  std::vector<int64_t> seen;
  for (const Value& batch : train[0]) {
    for (int64_t v : batch[0].as_tensor().to_vector<int64_t>()) seen.push_back(v);
  }
  CHECK(seen == std::vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  L::Loaders val = dm.val_dataloader();
  REQUIRE(val.size() == 2);
  CHECK(val[0].size() == 2);
  CHECK(val[1].size() == 1);
  // Not overridden: Lightning's MisconfigurationException, naming the hook and the module.
  const std::string msg = error_message([&] { (void)dm.test_dataloader(); });
  CHECK(msg.find("`test_dataloader` must be implemented") != std::string::npos);
  CHECK(msg.find("Ranges") != std::string::npos);
  CHECK(error_message([&] { (void)dm.predict_dataloader(); }).find("predict_dataloader") != std::string::npos);
  // State for checkpoints.
  Ranges restored;
  restored.load_state_dict(dm.state_dict());
  CHECK(restored.restored == 1);
  CHECK(L::LightningDataModule().state_dict() == Value::dict());
}

namespace {

// A datamodule that records its arguments with save_hyperparameters().
class Sized : public L::LightningDataModule {
 public:
  explicit Sized(L::HParams hp = {})
      : L::LightningDataModule(hp.with_defaults({{"batch_size", 4}, {"n", 16}})) {
    save_hyperparameters();
  }
  L::Loaders train_dataloader() override {
    return data::DataLoader(regression_data(hparam<int>("n")), {.batch_size = hparam<int>("batch_size")});
  }
  void teardown(const std::string&) override { ++teardowns; }
  Value state_dict() const override { return Value::dict().set("teardowns", teardowns); }
  void load_state_dict(const Value& state) override { teardowns = state.at("teardowns").as_int(); }
  std::string name() const override { return "Sized"; }
  int64_t teardowns = 0;
};

class Regressor : public L::LightningModule {
 public:
  explicit Regressor(L::HParams hp = {}) : L::LightningModule(hp.with_defaults({{"lr", 0.1}})) {
    save_hyperparameters();
    layer = register_module("layer", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = hparam<double>("lr")}); }
  std::shared_ptr<nn::Linear> layer;
};

}  // namespace

TEST_CASE("LightningDataModule.save_hyperparameters: checkpoint keys, merged logger hparams, load_from_checkpoint") {
  const std::string dir = "dm_hparams";
  auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = dir});
  L::Trainer trainer({.max_epochs = 1, .logger = csv, .enable_checkpointing = false, .enable_progress_bar = false});
  Regressor model;
  Sized dm({{"batch_size", 8}});
  trainer.fit(model, dm);
  const std::string path = dir + "/dm.ckpt";
  trainer.save_checkpoint(path);
  // Lightning's keys next to the module's.
  const Value ck = fulgur::load(path);
  CHECK(ck.at("datamodule_hparams_name").as_string() == "kwargs");
  CHECK(ck.at("datamodule_hyper_parameters") == Value::dict().set("batch_size", 8).set("n", 16));
  CHECK(ck.at("hyper_parameters") == Value::dict().set("lr", 0.1));
  // The loggers get both, merged.
  std::ifstream yaml_file(*csv->log_dir() + "/hparams.yaml");
  const std::string yaml((std::istreambuf_iterator<char>(yaml_file)), std::istreambuf_iterator<char>());
  const Value logged = parse_yaml(yaml);
  CHECK(logged == Value::dict().set("lr", 0.1).set("batch_size", 8).set("n", 16));
  // DataModule.load_from_checkpoint: its arguments (overrides win) and its state.
  auto loaded = L::load_from_checkpoint<Sized>(path, {{"n", 32}});
  CHECK(loaded->hparam<int>("batch_size") == 8);
  CHECK(loaded->hparam<int>("n") == 32);
  CHECK(loaded->teardowns == 1);
  // hparams_file replaces the saved datamodule_hyper_parameters.
  const std::string yaml_path = dir + "/dm_hparams.yaml";
  std::ofstream(yaml_path) << "batch_size: 2\n";
  auto from_file = L::load_from_checkpoint<Sized>(path, {}, {.hparams_file = yaml_path});
  CHECK(from_file->hparam<int>("batch_size") == 2);
  CHECK(from_file->hparam<int>("n") == 16);  // the constructor's default: the file has no n
  // A datamodule with arguments it never saves writes no keys, and the loggers get the module's.
  struct Unsaved : L::LightningDataModule {
    Unsaved() : L::LightningDataModule(L::HParams{{"n", 16}}) {}
    L::Loaders train_dataloader() override { return data::DataLoader(regression_data(16), {.batch_size = 8}); }
  };
  auto csv2 = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = dir + "_unsaved"});
  L::Trainer trainer2({.max_epochs = 1, .logger = csv2, .enable_checkpointing = false, .enable_progress_bar = false});
  Unsaved unsaved;
  CHECK_FALSE(unsaved.hyperparameters_saved());
  trainer2.fit(model, unsaved);
  trainer2.save_checkpoint(path);
  CHECK_FALSE(fulgur::load(path).contains("datamodule_hyper_parameters"));
  std::ifstream yaml_file2(*csv2->log_dir() + "/hparams.yaml");
  const std::string yaml2((std::istreambuf_iterator<char>(yaml_file2)), std::istreambuf_iterator<char>());
  CHECK(parse_yaml(yaml2) == Value::dict().set("lr", 0.1));
}

TEST_CASE("LightningDataModule.save_hyperparameters: a key both sides log with different values is an error") {
  for (const Value& lr : {Value(0.5), Value(int64_t{1})}) {
    CAPTURE(lr.repr());
    auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = "dm_conflict"});
    L::Trainer trainer({.max_epochs = 1, .logger = csv, .enable_checkpointing = false, .enable_progress_bar = false});
    Regressor model({{"lr", 1.0}});  // the datamodule's lr differs in value (0.5) or in type (1 vs 1.0)
    Sized dm({{"lr", lr}});
    CHECK_THROWS_WITH_AS(trainer.fit(model, dm),
                         doctest::Contains("Error while merging hparams: the keys ['lr'] are present in both the "
                                           "LightningModule's and LightningDataModule's hparams but have different "
                                           "values."),
                         Error);
  }
  // The same value on both sides is fine.
  auto csv = std::make_shared<L::loggers::CSVLogger>(L::loggers::CSVLoggerOptions{.save_dir = "dm_agree"});
  L::Trainer trainer({.max_epochs = 1, .logger = csv, .enable_checkpointing = false, .enable_progress_bar = false});
  Regressor model({{"lr", 0.1}});
  Sized dm({{"lr", 0.1}});
  trainer.fit(model, dm);
  CHECK(trainer.global_step() == 4);
}
