// Trainer(precision=...): Lightning's flags and aliases, the plugins (L::Precision), and runs in
// "bf16-mixed" (autocast around the step hooks, float32 parameters), "bf16-true" and "16-true"
// (module and batches in bfloat16 / float16, checkpoints that load back) on the CPU.
#include <cmath>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;
using fulgur::testing::contains;
using fulgur::testing::error_message;

namespace {

[[maybe_unused]] const bool kInTestTmpdir = fulgur::testing::chdir_to_test_tmpdir();

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : ".") + "/" + name;
}

using fulgur::testing::regression_data;  // y = x . [1, -2, 0.5] + 0.3

// Records the dtypes and the autocast state each hook saw.
class Regressor : public L::LightningModule {
 public:
  Regressor() { layer = register_module("layer", nn::Linear(3, 1)); }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    input_dtype = x.dtype();
    train_autocast = is_autocast_enabled(DeviceType::CPU);
    const Tensor out = forward(x);
    output_dtype = out.dtype();
    Tensor loss = F::mse_loss(out, y);
    loss_dtype = loss.dtype();
    log("train_loss", loss);
    return loss;
  }
  void on_before_backward(const Tensor&) override { backward_autocast = is_autocast_enabled(DeviceType::CPU); }
  void on_after_backward() override { grad_dtype = layer->parameter("weight").grad().dtype(); }
  void validation_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    val_autocast = is_autocast_enabled(DeviceType::CPU);
    log("val_loss", F::mse_loss(forward(x), y));
  }
  void test_step(const L::Batch& batch, int64_t) override {
    test_autocast = is_autocast_enabled(DeviceType::CPU);
    auto [x, y] = batch.unpack<2>();
    log("test_loss", F::mse_loss(forward(x), y));
  }
  Tensor predict_step(const L::Batch& batch, int64_t) override { return forward(batch.tensor(0)); }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }

  std::shared_ptr<nn::Linear> layer;
  DType input_dtype = DType::Bool, output_dtype = DType::Bool, loss_dtype = DType::Bool, grad_dtype = DType::Bool;
  bool train_autocast = false, backward_autocast = true, val_autocast = false, test_autocast = false;
};

std::vector<double> weights_of(Regressor& m) {
  std::vector<double> w = testing::values(m.layer->parameter("weight").to(kFloat32));
  w.push_back(m.layer->parameter("bias").to(kFloat32).item<float>());
  return w;
}

}  // namespace

TEST_CASE("precision flags: Lightning's values, its aliases and their warnings") {
  std::string warning;
  for (const char* flag : {"32-true", "64-true", "bf16-mixed", "bf16-true", "16-mixed", "16-true"}) {
    CHECK(L::canonical_precision(flag, &warning) == flag);
    CHECK(warning.empty());
  }
  // Lightning's _PRECISION_INPUT_STR_ALIAS_CONVERSION; only "16" and "bf16" warn.
  CHECK(L::canonical_precision("32", &warning) == "32-true");
  CHECK(warning.empty());
  CHECK(L::canonical_precision("64", &warning) == "64-true");
  CHECK(warning.empty());
  CHECK(L::canonical_precision("16", &warning) == "16-mixed");
  CHECK(warning == "`precision=16` is supported for historical reasons but its usage is discouraged. Please set "
                   "your precision to 16-mixed instead!");
  CHECK(L::canonical_precision("bf16", &warning) == "bf16-mixed");
  CHECK(warning == "`precision=bf16` is supported for historical reasons but its usage is discouraged. Please set "
                   "your precision to bf16-mixed instead!");
  const std::string bad = error_message([] { L::canonical_precision("fp8"); });
  CHECK(contains(bad, "Precision 'fp8' is invalid. Allowed precision values: ('transformer-engine', "
                      "'transformer-engine-float16', '16-true', '16-mixed', 'bf16-true', 'bf16-mixed', '32-true', "
                      "'64-true', 64, 32, 16, '64', '32', '16', 'bf16')"));
  CHECK(contains(error_message([] { L::Trainer t({.precision = "bf16-fast"}); }), "Precision 'bf16-fast' is invalid"));
}

TEST_CASE("precision plugins: classes, conversions, and float16 on CPU as Lightning has it") {
  CHECK(L::make_precision("32-true")->class_name() == "Precision");
  CHECK(L::make_precision("64-true")->class_name() == "DoublePrecision");
  CHECK(L::make_precision("bf16-true")->class_name() == "HalfPrecision");
  const auto mixed = L::make_precision("bf16-mixed");
  CHECK(mixed->class_name() == "MixedPrecision");
  CHECK(mixed->precision() == "bf16-mixed");
  {
    const auto ctx = mixed->forward_context();
    REQUIRE(ctx != nullptr);
    CHECK(is_autocast_enabled(DeviceType::CPU));
    CHECK(autocast_state().dtype == kBFloat16);
  }
  CHECK_FALSE(is_autocast_enabled(DeviceType::CPU));
  CHECK(L::make_precision("bf16-true")->forward_context() == nullptr);
  // No plugin here has state: checkpoints get no precision entry.
  CHECK(mixed->state_dict().items().empty());

  // convert_input: floating tensors anywhere in the batch, the rest kept.
  const auto half = L::make_precision("bf16-true");
  const Value batch = Value::tuple({Value(ones({2})), Value(tensor<int64_t>({1, 2})),
                                    Value::dict({{"x", Value(ones({1}).to(kFloat64))}, {"n", 3}})});
  const Value converted = half->convert_input(batch);
  CHECK(converted[0].as_tensor().dtype() == kBFloat16);
  CHECK(converted[1].as_tensor().dtype() == kInt64);
  CHECK(converted[2].at("x").as_tensor().dtype() == kBFloat16);
  CHECK(converted[2].at("n").as_int() == 3);

  // "16-mixed" on CPU: Lightning's _AcceleratorConnector warns and takes "bf16-mixed" (CPU
  // autocast has no float16), which is then what trainer.precision says.
  std::string warning;
  const auto fallback = L::make_precision("16-mixed", kCPU, &warning);
  CHECK(fallback->class_name() == "MixedPrecision");
  CHECK(fallback->precision() == "bf16-mixed");
  CHECK(warning == "You passed `Trainer(accelerator='cpu', precision='16-mixed')` but AMP with fp16 is not supported "
                   "on CPU. Using `precision='bf16-mixed'` instead.");
  CHECK(L::Trainer({.accelerator = "cpu", .precision = "16-mixed"}).precision() == "bf16-mixed");
  CHECK(L::Trainer({.accelerator = "cpu", .precision = "16"}).precision() == "bf16-mixed");
  warning.clear();
  const auto float16 = L::make_precision("16-true", kCPU, &warning);
  CHECK(float16->class_name() == "HalfPrecision");
  CHECK(float16->precision() == "16-true");
  CHECK(warning.empty());
  CHECK(L::Trainer({.accelerator = "cpu", .precision = "16-true"}).precision() == "16-true");
  CHECK(contains(error_message([] { L::Trainer t({.precision = "transformer-engine"}); }), "Transformer Engine"));
  // Aliases are canonicalised: trainer.precision is what Lightning reports.
  CHECK(L::Trainer({.precision = "bf16"}).precision() == "bf16-mixed");
  CHECK(L::Trainer({.precision = "64"}).precision() == "64-true");
  CHECK(L::Trainer({.precision = "64"}).options().precision == "64");  // the options keep the user's value
}

TEST_CASE("bf16-mixed: the steps run under autocast, parameters stay float32, fit converges like 32-true") {
  auto ds = regression_data(64);
  auto run = [&](const std::string& precision, Regressor& model) {
    manual_seed(1);
    model.layer->reset_parameters();
    L::Trainer trainer({.max_epochs = 40, .precision = precision, .logger = false,
                        .enable_checkpointing = false, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 16}), data::DataLoader(ds, {.batch_size = 64}));
    trainer.test(model, data::DataLoader(ds, {.batch_size = 64}), {.verbose = false});
    return trainer.callback_metrics().at("val_loss");
  };
  Regressor fp32, mixed;
  const double loss32 = run("32-true", fp32);
  const double loss_mixed = run("bf16-mixed", mixed);
  CHECK_FALSE(fp32.train_autocast);
  CHECK(mixed.train_autocast);
  CHECK(mixed.val_autocast);
  CHECK(mixed.test_autocast);
  CHECK_FALSE(mixed.backward_autocast);  // backward runs outside the forward context, as in Lightning
  CHECK_FALSE(is_autocast_enabled(DeviceType::CPU));
  CHECK(mixed.input_dtype == kFloat32);    // MixedPrecision leaves batches alone
  CHECK(mixed.output_dtype == kBFloat16);  // Linear under autocast
  CHECK(mixed.loss_dtype == kFloat32);     // mse_loss is in autocast's float32 list
  CHECK(mixed.layer->parameter("weight").dtype() == kFloat32);
  CHECK(mixed.grad_dtype == kFloat32);  // the gradient comes back through the cast
  // 32-true reaches the exact solution; bf16 products (8-bit mantissa) leave the loss at the
  // bf16 noise floor: outputs of size ~2 round by ~2^-8, so an MSE around 1e-5..1e-4.
  CHECK(loss32 < 1e-8);
  CHECK(loss_mixed < 1e-3);
  const std::vector<double> w32 = weights_of(fp32), wm = weights_of(mixed);
  for (size_t i = 0; i < w32.size(); ++i) CHECK(wm[i] == doctest::Approx(w32[i]).epsilon(2e-2));

  // predict_step runs under autocast as well: a bf16 prediction from a float32 module.
  L::Trainer trainer({.precision = "bf16-mixed", .logger = false, .enable_progress_bar = false});
  const std::vector<Tensor> preds = trainer.predict(mixed, data::DataLoader(ds, {.batch_size = 64}));
  REQUIRE(preds.size() == 1);
  CHECK(preds[0].dtype() == kBFloat16);
}

TEST_CASE("bf16-true and 16-true: module and floating batches in that dtype; the checkpoint loads back") {
  auto ds = regression_data(64);
  for (const auto& [flag, dtype] : {std::pair{"bf16-true", kBFloat16}, std::pair{"16-true", kFloat16}}) {
    CAPTURE(flag);
    Regressor model;
    L::Trainer trainer({.max_epochs = 30, .precision = flag, .logger = false,
                        .enable_checkpointing = false, .enable_progress_bar = false});
    trainer.fit(model, data::DataLoader(ds, {.batch_size = 16}), data::DataLoader(ds, {.batch_size = 64}));
    CHECK(model.input_dtype == dtype);
    CHECK(model.output_dtype == dtype);
    CHECK(model.loss_dtype == dtype);
    CHECK_FALSE(model.train_autocast);
    CHECK(model.layer->parameter("weight").dtype() == dtype);
    CHECK(model.layer->parameter("bias").dtype() == dtype);
    CHECK(model.grad_dtype == dtype);
    // SGD updates rounded to 16 bits (bf16's 8-bit mantissa: steps below 2^-8 of a weight
    // vanish; float16 has 11) still land near the solution [1, -2, 0.5], 0.3.
    const std::vector<double> w = weights_of(model);
    const std::vector<double> truth = {1.0, -2.0, 0.5, 0.3};
    for (size_t i = 0; i < truth.size(); ++i) CHECK(std::abs(w[i] - truth[i]) < 5e-2);

    const std::string path = temp_path(std::string(flag) + ".ckpt");
    trainer.save_checkpoint(path);
    const Value ck = fulgur::load(path);
    CHECK(ck.at("state_dict").at("layer.weight").as_tensor().dtype() == dtype);
    CHECK_FALSE(ck.contains("HalfPrecision"));  // no plugin state (Lightning saves none either)
    CHECK_FALSE(ck.contains("MixedPrecision"));

    // Resuming: a fresh module converted at configure_model, then the 16-bit weights and the
    // optimizer state restored; one more epoch runs.
    Regressor resumed;
    L::Trainer again({.max_epochs = 31, .precision = flag, .logger = false,
                      .enable_checkpointing = false, .enable_progress_bar = false});
    again.fit(resumed, data::DataLoader(ds, {.batch_size = 16}), {}, {.ckpt_path = path});
    CHECK(again.current_epoch() == 31);
    CHECK(again.global_step() == 31 * 4);
    CHECK(resumed.layer->parameter("weight").dtype() == dtype);
    const std::vector<double> wr = weights_of(resumed);
    for (size_t i = 0; i < truth.size(); ++i) CHECK(std::abs(wr[i] - truth[i]) < 5e-2);
  }
}

TEST_CASE("16-bit building blocks: conv, batch norm, pooling, linear, cross_entropy and Adam in bf16 and float16") {
  // What "bf16-true" and "16-true" need from the tensor layer beyond Linear: every op of a small
  // CNN, its backward and the optimizer update on 16-bit parameters.
  for (const DType dtype : {kBFloat16, kFloat16}) {
    CAPTURE(dtype);
    manual_seed(5);
    auto net = std::make_shared<nn::Sequential>(nn::Conv2d(1, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(),
                                                nn::MaxPool2d(2), nn::Flatten(), nn::Linear(4 * 4 * 4, 3));
    net->to(dtype);
    const Tensor x = randn({12, 1, 8, 8}).to(dtype);
    const Tensor y = tensor<int64_t>({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
    // Adam's default eps (1e-8) is 0 in float16 (smallest subnormal 6e-8), so a parameter whose
    // gradient and second moment are 0 steps by 0 / 0 = NaN; PyTorch's Adam on float16
    // parameters does the same. 1e-4 is representable.
    optim::Adam opt(net->parameters(), {.lr = 1e-2, .eps = dtype == kFloat16 ? 1e-4 : 1e-8});
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
      opt.zero_grad();
      const Tensor loss = F::cross_entropy((*net)(x), y);
      REQUIRE(loss.dtype() == dtype);
      loss.backward();
      opt.step();
      (step == 0 ? first : last) = loss.to(kFloat32).item<float>();
    }
    for (const Tensor& p : net->parameters()) CHECK(p.dtype() == dtype);
    for (const auto& [name, b] : net->named_buffers())
      if (b.is_floating_point()) CHECK(b.dtype() == dtype);
    // 12 samples, 3 classes: starts near ln 3 = 1.10 and memorises the batch.
    CHECK(first > 0.8);
    CHECK(last < 0.5 * first);
  }
}
