// L::callbacks::OnExceptionCheckpoint against Lightning's: the checkpoint a failed fit leaves
// (tools/gen_on_exception_golden.py ran the same fit through pytorch-lightning 2.2.5: same data,
// initial weights, optimizer and failing step), the automatic resume of the next fit, the file
// removed after a run that ends normally, and the Trainer rules for Checkpoint callbacks.
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
using fulgur::testing::captured_stderr;
using fulgur::testing::fresh_test_dir;
namespace L = fulgur::lightning;
namespace fs = std::filesystem;

namespace {

#include "tests/golden/on_exception_golden.inc"

struct Boom : std::runtime_error {
  Boom() : std::runtime_error("boom") {}
};

// The generator's FailsAtStep6: Linear(3, 1) from weight 0.1 and bias 0, SGD(lr=0.05), MSE.
class FailsAt : public L::LightningModule {
 public:
  explicit FailsAt(int64_t fail_at_step, bool ctrl_c = false) : fail_at_(fail_at_step), ctrl_c_(ctrl_c) {
    layer_ = register_module("layer", nn::Linear(3, 1));
    NoGradGuard no_grad;
    layer_->weight.fill_(0.1);
    layer_->bias.zero_();
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    if (global_step() == fail_at_) {
      if (ctrl_c_) throw L::KeyboardInterrupt();
      throw Boom();
    }
    return F::mse_loss((*layer_)(batch.tensor(0)), batch.tensor(1));
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.05}); }
  std::shared_ptr<nn::Linear> layer_;

 private:
  int64_t fail_at_;
  bool ctrl_c_;
};

class Evaluated : public FailsAt {
 public:
  Evaluated() : FailsAt(-1) {}
  void validation_step(const L::Batch&, int64_t) override {}
};

data::DataLoader loader() {
  Tensor x = arange(0, 24).to(DType::Float32).reshape({8, 3}).div(10.0);
  Tensor y = x.sum(1, true).div(3.0);
  return data::DataLoader(data::TensorDataset(x, y), {.batch_size = 2});
}

L::TrainerOptions options(std::vector<std::shared_ptr<L::Callback>> callbacks, const std::string& root) {
  return {.callbacks = std::move(callbacks),
          .max_epochs = 3,
          .logger = false,
          .enable_progress_bar = false,
          .enable_model_summary = false,
          .default_root_dir = root};
}

}  // namespace

TEST_CASE("OnExceptionCheckpoint: a failed fit leaves Lightning's checkpoint; the next fit resumes from it") {
  const std::string dir = fresh_test_dir("on_exception");
  auto callback = std::make_shared<L::callbacks::OnExceptionCheckpoint>(dir);
  CHECK(callback->ckpt_path() == (fs::path(dir) / "on_exception.ckpt").string());
  {
    L::Trainer trainer(options({callback}, dir));
    // A Checkpoint callback stands in for the default ModelCheckpoint, as in Lightning.
    CHECK(trainer.checkpoint_callback() == nullptr);
    FailsAt model(kGlobalStep);
    CHECK_THROWS_AS(trainer.fit(model, loader()), Boom);
  }
  REQUIRE(fs::exists(callback->ckpt_path()));
  const Value ck = load(callback->ckpt_path());
  CHECK(ck.at("epoch").as_int() == kEpoch);
  CHECK(ck.at("global_step").as_int() == kGlobalStep);
  const Value& loop = ck.at("loops").at("fit_loop");
  CHECK(loop.at("epoch_loop.batch_progress").at("current").at("completed").as_int() == kBatchesCompleted);
  CHECK(loop.at("epoch_loop.batch_progress").at("current").at("processed").as_int() == kBatchesProcessed);
  CHECK(loop.at("epoch_progress").at("current").at("completed").as_int() == kEpochsCompleted);
  CHECK(loop.at("epoch_loop.state_dict").at("_batches_that_stepped").as_int() == kBatchesThatStepped);
  CHECK(static_cast<int64_t>(ck.at("callbacks").items().size()) == kCallbackStates);
  const std::vector<float> weight = ck.at("state_dict").at("layer.weight").as_tensor().to_vector<float>();
  REQUIRE(weight.size() == kWeight.size());
  for (size_t i = 0; i < weight.size(); ++i) CHECK(weight[i] == doctest::Approx(kWeight[i]).epsilon(1e-6));
  CHECK(ck.at("state_dict").at("layer.bias").as_tensor().item<double>() == doctest::Approx(kBias).epsilon(1e-6));

  // The next fit, without ckpt_path, resumes from it (Lightning's "last" with the warning),
  // finishes the 3 epochs (12 steps) and removes the file at teardown.
  L::Trainer again(options({callback}, dir));
  FailsAt model(/*fail_at_step=*/-1);
  const std::string err = captured_stderr([&] { again.fit(model, loader()); });
  CHECK(err.find("`.fit(ckpt_path=None)` was called without a model. The last model of the previous `fit` call "
                 "will be used.") != std::string::npos);
  CHECK(again.ckpt_path() == callback->ckpt_path());
  CHECK(again.global_step() == 12);
  CHECK(again.current_epoch() == 3);
  CHECK_FALSE(fs::exists(callback->ckpt_path()));
}

TEST_CASE("OnExceptionCheckpoint: a failure in an epoch's last batch resumes with that batch") {
  // Step 7 is the last of epoch 1's four batches: the loader had handed out its whole epoch.
  const std::string dir = fresh_test_dir("on_exception_last_batch");
  auto callback = std::make_shared<L::callbacks::OnExceptionCheckpoint>(dir);
  {
    L::Trainer trainer(options({callback}, dir));
    FailsAt model(/*fail_at_step=*/7);
    CHECK_THROWS_AS(trainer.fit(model, loader()), Boom);
  }
  const Value state = load(callback->ckpt_path()).at("loops").at("fit_loop").at("train_dataloader_state");
  CHECK(state.at("batches_yielded").as_int() == 3);
  CHECK(state.at("in_progress").as_bool());
  L::Trainer again(options({callback}, dir));
  FailsAt resumed(/*fail_at_step=*/-1);
  (void)captured_stderr([&] { again.fit(resumed, loader()); });
  CHECK(again.global_step() == 12);

  L::Trainer whole(options({}, fresh_test_dir("on_exception_uninterrupted")));
  FailsAt uninterrupted(/*fail_at_step=*/-1);
  whole.fit(uninterrupted, loader());
  const std::vector<float> expected = uninterrupted.layer_->weight.to_vector<float>();
  const std::vector<float> got = resumed.layer_->weight.to_vector<float>();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-6));
}

TEST_CASE("OnExceptionCheckpoint: Ctrl+C saves too; a normal run leaves nothing; last picks the newest file") {
  const std::string dir = fresh_test_dir("on_exception_rules");
  auto callback = std::make_shared<L::callbacks::OnExceptionCheckpoint>(dir + "/ft", "crash");
  CHECK(callback->ckpt_path() == (fs::path(dir) / "ft" / "crash.ckpt").string());
  {
    L::Trainer trainer(options({callback}, dir));
    FailsAt model(/*fail_at_step=*/3, /*ctrl_c=*/true);
    CHECK_THROWS_AS(trainer.fit(model, loader()), L::KeyboardInterrupt);
  }
  REQUIRE(fs::exists(callback->ckpt_path()));
  CHECK(load(callback->ckpt_path()).at("global_step").as_int() == 3);
  fs::remove(callback->ckpt_path());

  // With a ModelCheckpoint(save_last) beside it: epoch 0 ends with last.ckpt, the failure in
  // epoch 1 writes crash.ckpt later, and "last" resumes from the newer one.
  auto last = std::make_shared<L::callbacks::ModelCheckpoint>(
      L::callbacks::ModelCheckpointOptions{.dirpath = dir + "/mc", .save_last = true});
  {
    L::Trainer trainer(options({callback, last}, dir));
    FailsAt model(/*fail_at_step=*/5);
    CHECK_THROWS_AS(trainer.fit(model, loader()), Boom);
  }
  REQUIRE(fs::exists(dir + "/mc/last.ckpt"));
  REQUIRE(fs::exists(callback->ckpt_path()));
  {
    L::Trainer trainer(options({callback, last}, dir));
    FailsAt model(/*fail_at_step=*/-1);
    captured_stderr([&] { trainer.fit(model, loader(), {}, {.ckpt_path = "last"}); });
    CHECK(trainer.ckpt_path() == callback->ckpt_path());
    CHECK(trainer.global_step() == 12);
  }
  CHECK_FALSE(fs::exists(callback->ckpt_path()));  // the resumed fit ended normally

  // validate/test never resume by themselves: the module is used as it is.
  L::Trainer eval(options({callback}, dir));
  Evaluated model;
  eval.validate(model, loader(), {.verbose = false});
  CHECK(eval.ckpt_path().empty());
}

TEST_CASE("OnExceptionCheckpoint: errors and its place among the callbacks") {
  CHECK_THROWS_WITH_AS(L::callbacks::OnExceptionCheckpoint(".", ""), doctest::Contains("The filename cannot be empty"),
                       Error);
  CHECK_THROWS_WITH_AS(L::Trainer({.callbacks = {std::make_shared<L::callbacks::OnExceptionCheckpoint>(".")},
                                   .enable_checkpointing = false}),
                       doctest::Contains("Trainer was configured with `enable_checkpointing=False` but found "
                                         "`ModelCheckpoint` in callbacks list."),
                       Error);
  // Checkpoint callbacks run last and after the module's on_train_epoch_end.
  auto oe = std::make_shared<L::callbacks::OnExceptionCheckpoint>(".");
  CHECK(oe->is_monitoring());
  CHECK(oe->state_key() == "OnExceptionCheckpoint");
  const std::string dir = fresh_test_dir("on_exception_order");
  auto timer = std::make_shared<L::callbacks::Timer>();
  L::Trainer trainer(options({oe, timer}, dir));
  FailsAt model(-1);
  trainer.fit(model, loader());
  REQUIRE(trainer.callbacks().size() == 2);
  CHECK(trainer.callbacks()[0] == timer);
  CHECK(trainer.callbacks()[1] == oe);
}
