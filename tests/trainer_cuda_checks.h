// The Trainer on cuda:0 against the CPU, shared by tests/trainer_cuda_emulated_test.cc (the
// emulated CUDA device) and tests/gpu/trainer_gpu_test.cc (a real GPU): the same
// LightningModule, unchanged, trains on cuda:0 as on the CPU. A small CNN classifier with Adam
// and an Accuracy metric runs 3 epochs on each; the batches and parameters are on cuda:0 inside
// the steps, the losses, metrics and final weights equal the CPU run's within float rounding
// (the device's GEMMs and sums add in another order), a checkpoint written from the device
// loads into a CPU model, and resuming on the device continues as resuming on the CPU does,
// from either device's checkpoint. Then the 16-bit precisions on the device: "16-mixed"
// (autocast to float16 GEMMs and a GradScaler that skips a NaN step and is saved in and
// restored from the checkpoint), "bf16-mixed", "16-true" and "bf16-true".
// Checkpoints go to the current directory (the tests chdir to their temp dir first).
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "fulgur/nn/functional/conv.h"
#include "fulgur/nn/functional/pooling.h"
#include "fulgur/nn/onnx/session.h"
#include "fulgur/tests/test_util.h"

namespace fulgur::trainer_cuda_checks {

namespace L = fulgur::lightning;

// 96 8x8 single-channel images of 3 classes: the class is the brightest third of the image
// (top rows, middle rows, bottom rows), plus noise. Built on the CPU, as a DataLoader's are.
inline std::shared_ptr<data::TensorDataset> thirds_data() {
  L::seed_everything(5);
  const int64_t n = 96;
  Tensor x = randn({n, 1, 8, 8}) * 0.3;
  Tensor y = randint(0, 3, {n}, {.dtype = kInt64});
  const std::vector<int64_t> labels = y.to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[static_cast<size_t>(i)];
    x.select(0, i).slice(1, c * 3, std::min<int64_t>(c * 3 + 3, 8)).add_(1.0);
  }
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, y});
}

class ThirdsNet : public L::LightningModule {
 public:
  explicit ThirdsNet(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"lr", 0.01}, {"optimizer", "adam"}})) {
    save_hyperparameters();
    conv = register_module("conv", nn::Conv2d(1, 4, 3, {.padding = 1}));
    head = register_module("head", nn::Linear(4 * 4 * 4, 3));
    accuracy = register_module("accuracy", std::make_shared<metrics::Accuracy>(
                                                metrics::AccuracyOptions{.task = "multiclass", .num_classes = 3}));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = nn::functional::max_pool2d((*conv)(x).relu(), {2, 2});
    return (*head)(h.flatten(1));
  }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    batch_devices.push_back(x.device());
    param_devices.push_back(conv->parameter("weight").device());
    Tensor logits = forward(x);
    Tensor loss = F::cross_entropy(logits, y);
    losses.push_back(loss.item<double>());
    log("train_loss", loss, {.on_epoch = true});
    log("train_acc", (*accuracy)(logits, y), {.on_epoch = true});
    return loss;
  }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    log("val_loss", F::cross_entropy(forward(x), y));
  }
  L::OptimizerConfig configure_optimizers() override {
    if (hparam<std::string>("optimizer") == "sgd") return optim::SGD(parameters(), {.lr = hparam<double>("lr")});
    return optim::Adam(parameters(), {.lr = hparam<double>("lr")});
  }
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> head;
  std::shared_ptr<metrics::Accuracy> accuracy;
  std::vector<Device> batch_devices, param_devices;
  std::vector<double> losses;
};

struct Run {
  std::vector<double> losses;
  std::map<std::string, double> metrics;
  std::map<std::string, Tensor> state;  // on the CPU
  std::vector<Device> batch_devices, param_devices;
};

inline Run fit(const std::string& accelerator, int64_t epochs, const std::string& ckpt_in = "",
        const std::string& ckpt_out = "", L::HParams hp = {}, L::StrategyOption strategy = "auto") {
  auto ds = thirds_data();
  L::seed_everything(11);
  ThirdsNet model(hp);
  L::TrainerOptions options_ = fulgur::testing::quiet_options({.max_epochs = epochs, .accelerator = accelerator});
  options_.strategy = std::move(strategy);
  L::Trainer trainer(options_);
  L::FitOptions options;
  if (!ckpt_in.empty()) options.ckpt_path = ckpt_in;
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 16, .shuffle = true}),
              data::DataLoader(ds, {.batch_size = 48}), options);
  if (!ckpt_out.empty()) trainer.save_checkpoint(ckpt_out);
  Run r{model.losses, {}, {}, model.batch_devices, model.param_devices};
  for (const auto& [k, v] : trainer.callback_metrics()) r.metrics[k] = v;
  for (const auto& [k, v] : model.state_dict()) r.state[k] = v.to(kCPU);
  return r;
}

inline void expect_same_run(const Run& cpu, const Run& gpu, double tol) {
  REQUIRE(gpu.losses.size() == cpu.losses.size());
  for (size_t i = 0; i < cpu.losses.size(); ++i) {
    CHECK_MESSAGE(std::abs(gpu.losses[i] - cpu.losses[i]) <= tol * (1 + std::abs(cpu.losses[i])),
                  "step ", i, ": cpu ", cpu.losses[i], ", cuda ", gpu.losses[i]);
  }
  for (const char* key : {"train_loss_epoch", "train_acc_epoch", "val_loss"}) {
    REQUIRE(cpu.metrics.count(key));
    REQUIRE(gpu.metrics.count(key));
    CHECK_MESSAGE(std::abs(gpu.metrics.at(key) - cpu.metrics.at(key)) <= tol * (1 + std::abs(cpu.metrics.at(key))),
                  key, ": cpu ", cpu.metrics.at(key), ", cuda ", gpu.metrics.at(key));
  }
  REQUIRE(gpu.state.size() == cpu.state.size());
  for (const auto& [name, c] : cpu.state) {
    const Tensor& g = gpu.state.at(name);
    REQUIRE(g.device() == kCPU);
    const double diff = (g.to(kFloat64) - c.to(kFloat64)).abs().max().item<double>();
    CHECK_MESSAGE(diff <= tol * (1 + c.to(kFloat64).abs().max().item<double>()), name, " differs by ", diff);
  }
}


// accelerator="gpu" trains the same LightningModule on cuda:0 as on the CPU
inline void check_fit_matches_cpu() {
  const Run cpu = fit("cpu", 3);
  const Run gpu = fit("gpu", 3);
  REQUIRE(cpu.losses.size() == 18);  // 96 / 16 batches x 3 epochs
  for (const Device& d : cpu.batch_devices) CHECK(d == kCPU);
  for (const Device& d : gpu.batch_devices) CHECK(d == Device::cuda(0));
  for (const Device& d : gpu.param_devices) CHECK(d == Device::cuda(0));
  expect_same_run(cpu, gpu, 2e-4);
  // It learned: the last epoch's loss is well below the first's, on both.
  CHECK(gpu.losses.back() < 0.7 * gpu.losses.front());
  CHECK(gpu.metrics.at("train_acc_epoch") > 0.6);
}

// a checkpoint written on cuda loads back on cuda or, with map_location, on the CPU; resuming
// on cuda continues as on the CPU
inline void check_checkpoint_and_resume() {
  const Run gpu2 = fit("gpu", 2, "", "gpu_epoch2.ckpt");
  // Lightning's default: the tensors go back to the device they were saved from.
  auto loaded = L::load_from_checkpoint<ThirdsNet>("gpu_epoch2.ckpt");
  for (const auto& [name, t] : loaded->state_dict()) {
    CHECK(t.device() == Device::cuda(0));
    CHECK_MESSAGE((t.to(kCPU).to(kFloat64) - gpu2.state.at(name).to(kFloat64)).abs().max().item<double>() == 0.0,
                  name);
  }
  CHECK(loaded->device() == Device::cuda(0));  // Lightning's self.device follows the tensors
  // to_onnx takes a CPU sample for the module on the device (Lightning moves it there).
  loaded->eval();
  const Tensor sample = randn({2, 1, 8, 8});
  loaded->to_onnx("thirds.onnx", sample);
  const Tensor from_onnx = onnx::InferenceSession("thirds.onnx").run({sample}).at(0);
  {
    NoGradGuard no_grad;
    const Tensor direct = loaded->forward(sample.to(Device::cuda(0))).to(kCPU);
    CHECK((from_onnx - direct).abs().max().item<double>() < 1e-4);
  }
  // map_location="cpu" puts them in a CPU model: the device run's weights.
  auto on_cpu = L::load_from_checkpoint<ThirdsNet>("gpu_epoch2.ckpt", {}, {.map_location = kCPU});
  CHECK(on_cpu->device() == kCPU);
  for (const auto& [name, t] : on_cpu->state_dict()) {
    CHECK(t.device() == kCPU);
    CHECK_MESSAGE((t.to(kFloat64) - gpu2.state.at(name).to(kFloat64)).abs().max().item<double>() == 0.0, name);
  }
  // Resuming to epoch 3 on cuda continues as resuming on the CPU does, from either device's
  // checkpoint (the CPU one's Adam state moves to the device with the parameters).
  (void)fit("cpu", 2, "", "cpu_epoch2.ckpt");
  // A dict map_location sends the CPU checkpoint's tensors to the device, the module after them.
  auto moved = L::load_from_checkpoint<ThirdsNet>(
      "cpu_epoch2.ckpt", {}, {.map_location = std::map<std::string, std::string>{{"cpu", "cuda:0"}}});
  for (const Tensor& p : moved->parameters()) CHECK(p.device() == Device::cuda(0));
  const Run cpu_resumed = fit("cpu", 3, "cpu_epoch2.ckpt");
  REQUIRE(cpu_resumed.losses.size() == 6);  // the third epoch only
  expect_same_run(cpu_resumed, fit("gpu", 3, "gpu_epoch2.ckpt"), 2e-4);
  expect_same_run(cpu_resumed, fit("gpu", 3, "cpu_epoch2.ckpt"), 2e-4);
}



// ThirdsNet whose loss is NaN at one global step (-1: never), recording the parameters around
// that step.
class PoisonedNet : public ThirdsNet {
 public:
  explicit PoisonedNet(int64_t poison_step) : poison_step_(poison_step) {}
  L::StepOutput training_step(const L::Batch& batch, int64_t batch_idx) override {
    if (global_step() != poison_step_) return ThirdsNet::training_step(batch, batch_idx);
    before = flat_parameters();
    auto [x, y] = batch.unpack<2>();
    return F::cross_entropy(forward(x), y) * std::nan("");
  }
  void on_train_batch_end(const Value&, const L::Batch&, int64_t) override {
    if (global_step() == poison_step_ + 1 && after.empty()) after = flat_parameters();
  }
  std::vector<float> flat_parameters() const {
    std::vector<float> out;
    for (const Tensor& p : const_cast<PoisonedNet*>(this)->parameters()) {
      const std::vector<float> v = p.detach().to(kCPU).to(kFloat32).reshape({-1}).to_vector<float>();
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }
  std::vector<float> before, after;

 private:
  int64_t poison_step_;
};


// precision="16-mixed" on cuda: float16 GEMMs, a GradScaler that skips a NaN step, saved and resumed
inline void check_16_mixed() {
  auto ds = thirds_data();
  // Reference: the same model in float32 on the CPU.
  const Run cpu = fit("cpu", 2);

  L::seed_everything(11);
  PoisonedNet model(/*poison_step=*/-1);
  L::Trainer trainer(fulgur::testing::quiet_options({.max_epochs = 2, .accelerator = "gpu", .precision = "16-mixed"}));
  trainer.fit(model, data::DataLoader(ds, {.batch_size = 16, .shuffle = true}), data::DataLoader(ds, {.batch_size = 48}));
  REQUIRE(model.losses.size() == cpu.losses.size());
  // float16 GEMM inputs (11-bit mantissas) against float32: close, not equal.
  for (size_t i = 0; i < cpu.losses.size(); ++i) {
    CHECK_MESSAGE(std::abs(model.losses[i] - cpu.losses[i]) <= 2e-2 * (1 + cpu.losses[i]), "step ", i, ": float32 ",
                  cpu.losses[i], ", 16-mixed ", model.losses[i]);
  }
  // Parameters, gradients and optimizer state stay float32 (only the GEMMs ran in float16).
  for (const Tensor& p : model.parameters()) CHECK(p.dtype() == kFloat32);
  auto& mixed = dynamic_cast<L::MixedPrecision&>(trainer.precision_plugin());
  CHECK(mixed.scaler().get_scale() == 65536.0);  // no overflow, far from 2000 clean steps
  CHECK(mixed.scaler().growth_tracker() == 12);

  // A NaN loss at step 3: that step is skipped (parameters unchanged), the scale halves, and
  // training goes on; the checkpoint carries the scaler's state under "MixedPrecision".
  L::seed_everything(11);
  PoisonedNet poisoned(/*poison_step=*/3);
  L::Trainer t2(fulgur::testing::quiet_options({.max_epochs = 1, .accelerator = "gpu", .precision = "16-mixed"}));
  t2.fit(poisoned, data::DataLoader(ds, {.batch_size = 16, .shuffle = true}));
  REQUIRE_FALSE(poisoned.before.empty());
  REQUIRE(poisoned.after.size() == poisoned.before.size());
  CHECK(poisoned.after == poisoned.before);
  CHECK(t2.global_step() == 6);  // a skipped step still counts, as in Lightning
  auto& scaler2 = dynamic_cast<L::MixedPrecision&>(t2.precision_plugin()).scaler();
  CHECK(scaler2.get_scale() == 32768.0);
  CHECK(scaler2.growth_tracker() == 2);  // two clean steps after the skipped one
  t2.save_checkpoint("mixed.ckpt");
  const Value ck = load("mixed.ckpt");
  REQUIRE(ck.contains("MixedPrecision"));
  CHECK(ck.at("MixedPrecision").at("scale").to_double() == 32768.0);
  CHECK(ck.at("MixedPrecision").at("_growth_tracker").as_int() == 2);

  // Resuming restores the scaler before training on.
  PoisonedNet resumed(-1);
  L::Trainer t3(fulgur::testing::quiet_options({.max_epochs = 2, .accelerator = "gpu", .precision = "16-mixed"}));
  t3.fit(resumed, data::DataLoader(ds, {.batch_size = 16, .shuffle = true}), {}, {.ckpt_path = "mixed.ckpt"});
  auto& scaler3 = dynamic_cast<L::MixedPrecision&>(t3.precision_plugin()).scaler();
  CHECK(scaler3.get_scale() == 32768.0);
  CHECK(scaler3.growth_tracker() == 2 + 6);
}

// bf16-mixed, 16-true and bf16-true train on cuda close to the float32 run
inline void check_16bit_precisions() {
  auto ds = thirds_data();
  // SGD: Adam's eps (1e-8) is 0 in float16, so 16-true Adam divides by zero as PyTorch's does.
  const L::HParams sgd = {{"optimizer", "sgd"}, {"lr", 0.1}};
  const Run cpu = fit("cpu", 1, "", "", sgd);
  struct Case {
    const char* precision;
    DType param_dtype;
    double tol;  // per step loss, relative to 1 + loss: 16-bit weights drift from the float32 run
  };
  for (const Case& c : {Case{"bf16-mixed", kFloat32, 6e-2}, Case{"16-true", kFloat16, 1e-1},
                        Case{"bf16-true", kBFloat16, 1.5e-1}}) {
    const std::string precision = c.precision;
    CAPTURE(precision);
    L::seed_everything(11);
    ThirdsNet model(sgd);
    L::Trainer trainer(fulgur::testing::quiet_options({.max_epochs = 1, .accelerator = "gpu", .precision = c.precision}));
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 16, .shuffle = true}));
    REQUIRE(model.losses.size() == cpu.losses.size());
    for (size_t i = 0; i < cpu.losses.size(); ++i) {
      CHECK_MESSAGE(std::abs(model.losses[i] - cpu.losses[i]) <= c.tol * (1 + cpu.losses[i]), "step ", i,
                    ": float32 ", cpu.losses[i], ", ", c.precision, " ", model.losses[i]);
    }
    CHECK(model.conv->parameter("weight").dtype() == c.param_dtype);
    CHECK(model.conv->parameter("weight").device() == Device::cuda(0));
  }
}

}  // namespace fulgur::trainer_cuda_checks
