// The accelerator/strategy seam (lightning.pytorch's _AcceleratorConnector, Strategy,
// SingleDeviceStrategy, CPUAccelerator): how the hardware flags resolve, every refusal with
// Lightning's message, the Trainer properties that come from the strategy, and the fit loop's
// backward / optimizer step / batch transfer observed through a recording Strategy.
#include <functional>
#include <string>
#include <vector>

#include "fulgur/kernels/cuda/runtime.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

using fulgur::testing::quiet_options;

std::string trainer_error(L::TrainerOptions o) {
  return fulgur::testing::error_message_of([&] { L::Trainer t(std::move(o)); });
}

using fulgur::testing::regression_data;  // y = x . [1, -2, 0.5] + 0.3

class Regressor : public L::LightningModule {
 public:
  Regressor() {
    manual_seed(7);
    layer = register_module("layer", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    device_in_step = device();
    return F::mse_loss(forward(x), y);
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("val_loss", F::mse_loss(forward(x), y));
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }
  std::shared_ptr<nn::Linear> layer;
  Device device_in_step = Device::cuda(3);  // anything but the CPU until a step ran
};

// Counts what the Trainer routes through the strategy, then does what SingleDeviceStrategy does.
class RecordingStrategy : public L::SingleDeviceStrategy {
 public:
  void setup(L::LightningModule& module) override {
    ++setups;
    L::SingleDeviceStrategy::setup(module);
  }
  void teardown() override {
    ++teardowns;
    L::SingleDeviceStrategy::teardown();
  }
  L::Batch batch_to_device(L::LightningModule& module, L::Batch batch, int64_t idx) override {
    ++transfers;
    return L::SingleDeviceStrategy::batch_to_device(module, std::move(batch), idx);
  }
  void backward(const Tensor& loss, L::LightningModule& module, optim::Optimizer* optimizer) override {
    ++backwards;
    backward_had_optimizer = optimizer != nullptr;
    L::SingleDeviceStrategy::backward(loss, module, optimizer);
  }
  Tensor optimizer_step(optim::Optimizer& optimizer, const std::function<Tensor()>& closure) override {
    ++steps;
    return L::SingleDeviceStrategy::optimizer_step(optimizer, closure);
  }
  int setups = 0, teardowns = 0, transfers = 0, backwards = 0, steps = 0;
  bool backward_had_optimizer = false;
};

std::vector<float> params_of(L::LightningModule& m) {
  std::vector<float> out;
  for (Tensor& p : m.parameters()) {
    for (float v : p.to_vector<float>()) out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("connector: (\"auto\", \"auto\", \"auto\") is CPUAccelerator + SingleDeviceStrategy(cpu), devices [0]") {
  // With a GPU, "auto" takes it (tests/gpu/trainer_gpu_test.cc checks that side).
  if (cuda::is_available()) {
    MESSAGE("SKIPPED: a CUDA device is present, so accelerator=\"auto\" is not the CPU here");
    return;
  }
  L::AcceleratorConnector c("auto", "auto", "auto", 1);
  CHECK(c.accelerator->name() == "cpu");
  CHECK(dynamic_cast<L::CPUAccelerator*>(c.accelerator.get()) != nullptr);
  REQUIRE(dynamic_cast<L::SingleDeviceStrategy*>(c.strategy.get()) != nullptr);
  CHECK(c.strategy->name() == "single_device");
  CHECK(c.strategy->root_device() == kCPU);
  CHECK(c.strategy->accelerator() == c.accelerator.get());
  CHECK(c.device_ids == std::vector<int64_t>{0});
  // "cpu", devices 1 / "1" / "[0]"-free spellings and strategy "single_device" resolve the same.
  for (const char* devices : {"1", " 1 "}) {
    L::AcceleratorConnector d("cpu", "single_device", devices, 1);
    CHECK(d.device_ids == std::vector<int64_t>{0});
    CHECK(d.strategy->name() == "single_device");
  }
}

TEST_CASE("parse_devices_flag: Lightning's spellings of `devices`") {
  CHECK(L::parse_devices_flag("auto").is_auto());
  CHECK(L::parse_devices_flag("1").count() == 1);
  CHECK(L::parse_devices_flag("-1").count() == -1);
  CHECK(L::parse_devices_flag("0,1").list() == std::vector<int64_t>{0, 1});
  CHECK(L::parse_devices_flag("[0, 1]").list() == std::vector<int64_t>{0, 1});
  CHECK(L::parse_devices_flag("2,").list() == std::vector<int64_t>{2});  // Lightning: "2," is [2]
  CHECK(L::parse_devices_flag("[]").list().empty());
  CHECK(L::parse_devices_flag("[0, 1]").repr() == "[0, 1]");
  CHECK(L::parse_devices_flag("auto").repr() == "'auto'");
  for (const char* bad : {"", "two", "1.5", "[0, x]", "[-1]"}) {
    CHECK_MESSAGE(fulgur::testing::error_message_of([&] { L::parse_devices_flag(bad); }).find("Devices should be an int") != std::string::npos,
                  bad);
  }
}

TEST_CASE("connector: invalid and not-yet-supported combinations fail at construction with Lightning's messages") {
  using doctest::Contains;
  CHECK(trainer_error({.accelerator = "tpu"}).find("You selected an invalid accelerator name: `accelerator='tpu'`. "
                                                   "Available names are: auto, cpu, cuda, gpu.") != std::string::npos);
  CHECK(trainer_error({.strategy = "fancy"}).find("You selected an invalid strategy name: `strategy='fancy'`. It must "
                                                  "be either a string or an instance of "
                                                  "`lightning.pytorch.strategies.Strategy`") != std::string::npos);
  for (const char* s : {"ddp_spawn", "fsdp", "deepspeed"}) {
    const std::string e = trainer_error({.strategy = s});
    CHECK_MESSAGE(e.find(std::string("strategy=\"") + s + "\" is not available: this build runs \"ddp\"") !=
                      std::string::npos,
                  e);
  }
  // "ddp" in a process no launcher started is a DDP run of one process (Lightning allows it).
  CHECK(L::Trainer(quiet_options({.strategy = "ddp"})).strategy().name() == "ddp");
  CHECK(L::Trainer(quiet_options({.strategy = "ddp"})).world_size() == 1);
  // Lightning chooses "ddp" for several devices or nodes; Fulgur does not spawn the processes.
  std::string e = trainer_error({.accelerator = "cpu", .devices = "2"});
  CHECK(e.find("devices=2 x num_nodes=1 means 2 processes, but this process was not started by an MPI launcher (1 "
               "process); hint: launch with `mpirun -np 2 <program> ...`") != std::string::npos);
  e = trainer_error({.num_nodes = 2});
  CHECK(e.find("num_nodes=2 does not divide the 1 processes the launcher (none) started") != std::string::npos);
  e = trainer_error({.strategy = "ddp", .devices = "3", .num_nodes = 2});
  CHECK(e.find("devices=3 x num_nodes=2 means 6 processes") != std::string::npos);
  CHECK(trainer_error({.strategy = "single_device", .devices = "2"})
            .find("strategy=\"single_device\" runs one process on one device, but devices=2 and num_nodes=1 were "
                  "requested") != std::string::npos);
  CHECK(trainer_error({.num_nodes = 0}).find("`num_nodes` must be a positive integer, but got 0.") !=
        std::string::npos);
  CHECK(trainer_error({.devices = "0"}).find("`Trainer(devices=0)` value is not a valid input using auto "
                                             "accelerator.") != std::string::npos);
  CHECK(trainer_error({.accelerator = "cpu", .devices = "[]"})
            .find("`Trainer(devices=[])` value is not a valid input using cpu accelerator.") != std::string::npos);
  // Lightning's _parse_cpu_cores: the CPU takes a positive count only.
  for (const char* d : {"-1", "[0, 1]", "0,1", "-3"}) {
    CHECK_MESSAGE(trainer_error({.accelerator = "cpu", .devices = d})
                          .find("`devices` selected with `CPUAccelerator` should be an int > 0.") != std::string::npos,
                  d);
  }
  CHECK(trainer_error({.devices = "many"}).find("Devices should be an int") != std::string::npos);
}

TEST_CASE("connector: \"gpu\"/\"cuda\" ask the CUDA runtime; without a device they are refused") {
  for (const char* a : {"gpu", "cuda"}) {
    if (cuda::is_available()) {
      L::Trainer t(quiet_options({.accelerator = a}));
      CHECK(t.strategy().root_device() == Device::cuda(0));
    } else {
      const std::string e = trainer_error({.accelerator = a});
      CHECK(e.find("`CUDAAccelerator` can not run on your system since the accelerator is not available. The "
                   "following accelerator(s) is available and can be passed into `accelerator` argument of "
                   "`Trainer`: ['cpu'].") != std::string::npos);
    }
  }
  L::CUDAAccelerator cuda_accel;
  CHECK(cuda_accel.is_available() == cuda::is_available());
  CHECK(cuda_accel.auto_device_count() == cuda::device_count());
  CHECK(cuda_accel.get_parallel_devices({0, 1}) == std::vector<Device>{Device::cuda(0), Device::cuda(1)});
}

TEST_CASE("Trainer: hardware properties come from the strategy") {
  L::Trainer t(quiet_options({}));
  CHECK(t.strategy().name() == "single_device");
  CHECK(t.accelerator().name() == "cpu");
  CHECK(t.num_devices() == 1);
  CHECK(t.device_ids() == std::vector<int64_t>{0});
  CHECK(t.num_nodes() == 1);
  CHECK(t.root_device() == kCPU);
  CHECK(t.is_global_zero());
  CHECK(t.world_size() == 1);
  CHECK(t.global_rank() == 0);
  CHECK(t.local_rank() == 0);
  CHECK(t.node_rank() == 0);
}

TEST_CASE("SingleDeviceStrategy: one process, so the collectives are the identity") {
  L::SingleDeviceStrategy s;
  Tensor t = tensor<float>({1.0f, 2.0f});
  CHECK(s.reduce(t).to_vector<float>() == std::vector<float>{1.0f, 2.0f});
  CHECK(s.reduce(t, "sum").to_vector<float>() == std::vector<float>{1.0f, 2.0f});
  CHECK(fulgur::testing::error_message_of([&] { s.reduce(t, "max"); }).find("reduce_op=\"max\" is not supported") != std::string::npos);
  CHECK(s.all_gather(t).to_vector<float>() == std::vector<float>{1.0f, 2.0f});
  CHECK(s.broadcast(Value(int64_t{5})).as_int() == 5);
  s.barrier("sync");
  CHECK(s.reduce_boolean_decision(true));
  CHECK(!s.reduce_boolean_decision(false, false));
  CHECK(s.is_global_zero());
}

TEST_CASE("Trainer(strategy=<Strategy object>): the fit's transfers, backwards and steps go through it") {
  auto ds = regression_data(32);  // 4 batches of 8
  auto rec = std::make_shared<RecordingStrategy>();
  CHECK(rec->accelerator() == nullptr);
  Regressor model;
  L::Trainer t(quiet_options({.max_epochs = 3, .strategy = rec, .num_sanity_val_steps = 0}));
  CHECK(&t.strategy() == rec.get());
  CHECK(rec->accelerator() == &t.accelerator());  // the connector gives it the CPUAccelerator
  data::DataLoader train(ds, {.batch_size = 8});
  data::DataLoader val(ds, {.batch_size = 16});
  t.fit(model, train, val);
  CHECK(rec->setups == 1);
  CHECK(rec->teardowns == 1);
  CHECK(rec->backwards == 3 * 4);
  CHECK(rec->backward_had_optimizer);
  CHECK(rec->steps == 3 * 4);
  CHECK(t.global_step() == 12);
  CHECK(rec->transfers == 3 * 4 + 3 * 2);  // train batches, then 2 val batches per epoch
  CHECK(model.device_in_step == kCPU);      // LightningModule::device(): where the strategy put the module
  // Accumulation: backward every batch, a step every second one.
  auto rec2 = std::make_shared<RecordingStrategy>();
  Regressor model2;
  L::Trainer t2(quiet_options({.max_epochs = 1, .strategy = rec2, .limit_val_batches = 0, .accumulate_grad_batches = 2}));
  t2.fit(model2, data::DataLoader(ds, {.batch_size = 8}));
  CHECK(rec2->backwards == 4);
  CHECK(rec2->steps == 2);
}

TEST_CASE("manual optimization: manual_backward and LightningOptimizer.step go through the strategy") {
  struct Manual : Regressor {
    Manual() { automatic_optimization(false); }
    L::StepOutput training_step(const L::Batch& batch, int64_t) override {
      auto [x, y] = batch.unpack<2>();
      L::LightningOptimizer opt = optimizer(0);
      opt.zero_grad();
      manual_backward(F::mse_loss(forward(x), y));
      opt.step();
      return {};
    }
  };
  auto ds = regression_data(32);
  auto rec = std::make_shared<RecordingStrategy>();
  Manual model;
  L::Trainer t(quiet_options({.max_epochs = 2, .strategy = rec, .limit_val_batches = 0}));
  t.fit(model, data::DataLoader(ds, {.batch_size = 8}));
  CHECK(rec->backwards == 8);
  CHECK(!rec->backward_had_optimizer);  // Lightning's manual_backward passes optimizer=None
  CHECK(rec->steps == 8);
  CHECK(t.global_step() == 8);
}

TEST_CASE("a fit through the strategy gives bit-identical parameters to a hand-written loop") {
  auto ds = regression_data(48);  // 6 batches of 8, in order
  Regressor through_trainer;
  auto rec = std::make_shared<RecordingStrategy>();
  L::Trainer t(quiet_options({.max_epochs = 3, .strategy = rec, .limit_val_batches = 0}));
  t.fit(through_trainer, data::DataLoader(ds, {.batch_size = 8}));
  Regressor default_strategy;
  L::Trainer t2(quiet_options({.max_epochs = 3, .limit_val_batches = 0}));
  t2.fit(default_strategy, data::DataLoader(ds, {.batch_size = 8}));

  Regressor by_hand;  // same seed, same initial weights
  optim::SGD opt(by_hand.parameters(), {.lr = 0.1});
  data::DataLoader loader(ds, {.batch_size = 8});
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (const Value& raw : loader) {
      L::Batch b(raw);
      auto [x, y] = b.unpack<2>();
      opt.zero_grad();
      F::mse_loss(by_hand.forward(x), y).backward();
      opt.step();
    }
  }
  const std::vector<float> expected = params_of(by_hand);
  CHECK(params_of(through_trainer) == expected);
  CHECK(params_of(default_strategy) == expected);
}

TEST_CASE("validate / test / predict set the strategy up and tear it down too") {
  auto ds = regression_data(16);
  auto rec = std::make_shared<RecordingStrategy>();
  Regressor model;
  L::Trainer t(quiet_options({.strategy = rec}));
  t.validate(model, data::DataLoader(ds, {.batch_size = 8}), {.verbose = false});
  CHECK(rec->setups == 1);
  CHECK(rec->teardowns == 1);
  CHECK(rec->transfers == 2);
  t.predict(model, data::DataLoader(ds, {.batch_size = 4}));
  CHECK(rec->setups == 2);
  CHECK(rec->teardowns == 2);
  CHECK(rec->transfers == 6);
}
