// L::LightningDataModule's defaults and L::Loaders: the errors Lightning raises for hooks a
// Trainer needs but the module lacks, and the loaders a hook hands over.
#include "tests/test_util.h"
#include "fulgur/trainer/datamodule.h"

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
