// The C ABI (capi/fulgur_c.h), called as a C program would. References are computed
// independently: by hand in double (linear forward, cross entropy), or through the C++ API on
// the same data for training, which the C layer must reproduce bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fulgur/fulgur.h"
#include "fulgur/fulgur_c.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "tests/capi_test_util.h"
#include "tests/test_util.h"

namespace {

constexpr fulgur_device kHost = {FULGUR_DEVICE_CPU, 0};

std::string tmp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

#define CHECK_OK(call) REQUIRE_MESSAGE((call) == FULGUR_OK, fulgur_last_error())

// Owning wrappers for the test only (the API itself is plain C).
struct Tensor {
  fulgur_tensor* h = nullptr;
  ~Tensor() { fulgur_tensor_destroy(h); }
};
struct Model {
  fulgur_model* h = nullptr;
  ~Model() { fulgur_model_destroy(h); }
};
struct Optimizer {
  fulgur_optimizer* h = nullptr;
  ~Optimizer() { fulgur_optimizer_destroy(h); }
};
struct Session {
  fulgur_session* h = nullptr;
  ~Session() { fulgur_session_destroy(h); }
};

// Borrows a row-major float buffer.
void wrap(std::vector<float>& data, std::vector<int64_t> sizes, Tensor& out) {
  CHECK_OK(fulgur_tensor_from_data(data.data(), FULGUR_FLOAT32, static_cast<int32_t>(sizes.size()), sizes.data(),
                                   nullptr, kHost, &out.h));
}

std::vector<float> read(const fulgur_tensor* t) {
  int64_t n = 0;
  CHECK_OK(fulgur_tensor_numel(t, &n));
  std::vector<float> v(static_cast<size_t>(n));
  CHECK_OK(fulgur_tensor_copy_to(t, v.data(), v.size() * sizeof(float)));
  return v;
}

using fulgur::capi_testing::parameter_values;
std::vector<float> parameter(const fulgur_model* m, int64_t i) { return parameter_values(m, i); }
std::vector<float> all_parameters(const fulgur_model* m) { return fulgur::capi_testing::all_parameter_values(m); }

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// 3 -> 4 -> 1 MLP (tanh) and 8 samples of a smooth target.
void build_mlp(uint64_t seed, Model& m) {
  CHECK_OK(fulgur_model_create(seed, &m.h));
  CHECK_OK(fulgur_model_add_linear(m.h, 3, 4, 1));
  CHECK_OK(fulgur_model_add_tanh(m.h));
  CHECK_OK(fulgur_model_add_linear(m.h, 4, 1, 1));
}
std::vector<float> inputs8() {
  std::vector<float> x(24);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * static_cast<float>(i)) * 1.5f;
  return x;
}
std::vector<float> targets8(const std::vector<float>& x) {
  std::vector<float> y(8);
  for (size_t i = 0; i < 8; ++i) y[i] = x[3 * i] * 0.5f - x[3 * i + 1] + 0.25f * x[3 * i + 2] * x[3 * i + 2];
  return y;
}

// One training step from C; returns the loss.
double c_step(fulgur_model* m, fulgur_optimizer* o, const fulgur_tensor* x, const fulgur_tensor* y) {
  Tensor pred, loss;
  CHECK_OK(fulgur_optimizer_zero_grad(o));
  CHECK_OK(fulgur_model_forward(m, x, &pred.h));
  CHECK_OK(fulgur_loss(FULGUR_LOSS_MSE, pred.h, y, &loss.h));
  CHECK_OK(fulgur_tensor_backward(loss.h));
  CHECK_OK(fulgur_optimizer_step(o));
  double v = 0;
  CHECK_OK(fulgur_tensor_item(loss.h, &v));
  return v;
}

}  // namespace

TEST_CASE("ABI version and status names") {
  CHECK(fulgur_abi_version() == FULGUR_C_ABI_VERSION);
  CHECK(std::string(fulgur_status_name(FULGUR_SHAPE_MISMATCH)) == "FULGUR_SHAPE_MISMATCH");
  CHECK(std::string(fulgur_status_name(static_cast<fulgur_status>(99))) == "unknown status");
}

TEST_CASE("linear forward on the caller's buffer equals x @ W^T + b computed by hand") {
  Model m;
  CHECK_OK(fulgur_model_create(7, &m.h));
  CHECK_OK(fulgur_model_add_linear(m.h, 3, 2, 1));
  const std::vector<float> w = parameter(m.h, 0);  // [2, 3]
  const std::vector<float> b = parameter(m.h, 1);  // [2]
  REQUIRE(w.size() == 6);
  REQUIRE(b.size() == 2);
  std::vector<float> x = {1, 2, 3, -1, 0.5f, 4, 0, 0, 1, 2, -2, 2};  // [4, 3]
  Tensor xt, y;
  wrap(x, {4, 3}, xt);
  CHECK_OK(fulgur_model_forward(m.h, xt.h, &y.h));
  int32_t ndim = 0;
  int64_t sizes[2] = {0, 0};
  CHECK_OK(fulgur_tensor_ndim(y.h, &ndim));
  CHECK_OK(fulgur_tensor_sizes(y.h, sizes));
  CHECK(ndim == 2);
  CHECK(sizes[0] == 4);
  CHECK(sizes[1] == 2);
  const std::vector<float> got = read(y.h);
  for (int i = 0; i < 4; ++i) {
    for (int o = 0; o < 2; ++o) {
      double ref = b[o];
      for (int k = 0; k < 3; ++k) ref += static_cast<double>(x[3 * i + k]) * w[3 * o + k];
      CHECK(got[2 * i + o] == doctest::Approx(ref).epsilon(1e-6));
    }
  }
  int64_t count = 0;
  CHECK_OK(fulgur_model_num_parameters(m.h, &count));
  CHECK(count == 8);
  char name[16];
  CHECK_OK(fulgur_model_parameter_name(m.h, 1, name, sizeof name));
  CHECK(std::string(name) == "0.bias");
}

TEST_CASE("building a model leaves the process-wide default generator alone") {
  fulgur::manual_seed(3);
  const uint64_t offset = fulgur::default_generator().offset();
  Model m;
  build_mlp(3, m);
  CHECK(fulgur::default_generator().offset() == offset);
  CHECK(fulgur::default_generator().initial_seed() == 3);
  // And the same seed gives the same weights whatever the default generator's state.
  fulgur::manual_seed(12345);
  Model again;
  build_mlp(3, again);
  CHECK(same_bits(all_parameters(m.h), all_parameters(again.h)));
}

TEST_CASE("tensors borrow caller memory: no copy, mutations seen both ways") {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  Tensor t;
  wrap(x, {2, 3}, t);
  void* data = nullptr;
  CHECK_OK(fulgur_tensor_data(t.h, &data));
  CHECK(data == x.data());

  Model m;
  CHECK_OK(fulgur_model_create(1, &m.h));
  CHECK_OK(fulgur_model_add_linear(m.h, 3, 1, 0));
  const std::vector<float> w = parameter(m.h, 0);
  Tensor y1, y2;
  CHECK_OK(fulgur_model_forward(m.h, t.h, &y1.h));
  x[0] = 100;  // the caller writes its buffer; the next forward sees it
  CHECK_OK(fulgur_model_forward(m.h, t.h, &y2.h));
  CHECK(read(y2.h)[0] - read(y1.h)[0] == doctest::Approx(99.0 * w[0]).epsilon(1e-5));

  // fulgur_tensor_copy into a borrowed tensor writes the caller's buffer.
  std::vector<float> src = {9, 8, 7, 6, 5, 4};
  Tensor s;
  wrap(src, {2, 3}, s);
  CHECK_OK(fulgur_tensor_copy(t.h, s.h));
  CHECK(x == src);

  // A parameter handle shares the model's memory: writing it changes the forward.
  Tensor p;
  CHECK_OK(fulgur_model_parameter(m.h, 0, &p.h));
  std::vector<float> ones = {1, 1, 1};
  Tensor o;
  wrap(ones, {1, 3}, o);
  CHECK_OK(fulgur_tensor_copy(p.h, o.h));
  Tensor y3;
  CHECK_OK(fulgur_model_forward(m.h, t.h, &y3.h));
  CHECK(read(y3.h) == std::vector<float>{24, 15});
}

TEST_CASE("a column-major (Fortran) array gives the same forward as its row-major copy") {
  // x(i, j) of a 4 x 3 Fortran array at i + 4 j: the tensor [4, 3] with strides (1, 4).
  std::vector<float> rowmajor = inputs8();
  rowmajor.resize(12);
  std::vector<float> colmajor(12);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) colmajor[i + 4 * j] = rowmajor[3 * i + j];
  const int64_t shape[2] = {4, 3};
  Tensor cm, rm, ycm, yrm;
  CHECK_OK(fulgur_tensor_from_fortran_array(colmajor.data(), FULGUR_FLOAT32, 2, shape, kHost, &cm.h));
  int64_t strides[2] = {0, 0};
  CHECK_OK(fulgur_tensor_strides(cm.h, strides));
  CHECK(strides[0] == 1);
  CHECK(strides[1] == 4);
  CHECK(read(cm.h) == rowmajor);  // copy_to gives row-major order
  wrap(rowmajor, {4, 3}, rm);
  Model m;
  build_mlp(3, m);
  CHECK_OK(fulgur_model_forward(m.h, cm.h, &ycm.h));
  CHECK_OK(fulgur_model_forward(m.h, rm.h, &yrm.h));
  const std::vector<float> a = read(ycm.h), b = read(yrm.h);
  REQUIRE(a.size() == 4);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-6));

  // Explicit strides give the same view as the Fortran helper.
  const int64_t st[2] = {1, 4};
  Tensor explicit_strides;
  CHECK_OK(fulgur_tensor_from_data(colmajor.data(), FULGUR_FLOAT32, 2, shape, st, kHost, &explicit_strides.h));
  CHECK(read(explicit_strides.h) == rowmajor);
}

TEST_CASE("SGD, Adam and AdamW from C match the C++ API bit for bit") {
  struct Case {
    std::string name;
    int kind;
  };
  for (const Case& c : {Case{"sgd nesterov", 0}, Case{"adam", 1}, Case{"adamw", 2}}) {
    CAPTURE(c.name);
    std::vector<float> x = inputs8();
    std::vector<float> y = targets8(x);

    // The C++ reference: the same seed, layers, options and data.
    namespace nn = fulgur::nn;
    // Layers made one statement at a time: as arguments of one call, GCC would construct (and
    // draw) them right to left.
    fulgur::manual_seed(42);
    auto first = std::make_shared<nn::Linear>(3, 4);
    auto second = std::make_shared<nn::Linear>(4, 1);
    nn::Sequential net(first, nn::Tanh(), second);
    std::unique_ptr<fulgur::optim::Optimizer> opt;
    if (c.kind == 0) {
      opt = std::make_unique<fulgur::optim::SGD>(
          net.parameters(),
          fulgur::optim::SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
    } else if (c.kind == 1) {
      opt = std::make_unique<fulgur::optim::Adam>(net.parameters(),
                                                  fulgur::optim::AdamOptions{.lr = 0.01, .weight_decay = 1e-3});
    } else {
      opt = std::make_unique<fulgur::optim::AdamW>(net.parameters(), fulgur::optim::AdamWOptions{.lr = 0.01});
    }
    const fulgur::Tensor xr = fulgur::from_blob(x.data(), {8, 3}, fulgur::kFloat32);
    const fulgur::Tensor yr = fulgur::from_blob(y.data(), {8, 1}, fulgur::kFloat32);
    std::vector<double> ref_losses;
    for (int s = 0; s < 5; ++s) {
      opt->zero_grad();
      fulgur::Tensor loss = nn::functional::mse_loss(net(xr), yr);
      loss.backward();
      opt->step();
      ref_losses.push_back(loss.item<double>());
    }
    std::vector<float> ref;
    for (const fulgur::Tensor& p : net.parameters()) {
      const std::vector<float> v = p.to_vector<float>();
      ref.insert(ref.end(), v.begin(), v.end());
    }

    Model m;
    build_mlp(42, m);
    Optimizer o;
    if (c.kind == 0) CHECK_OK(fulgur_optimizer_sgd(m.h, 0.05, 0.9, 1e-3, 1, &o.h));
    if (c.kind == 1) CHECK_OK(fulgur_optimizer_adam(m.h, 0.01, 0.9, 0.999, 1e-8, 1e-3, &o.h));
    if (c.kind == 2) CHECK_OK(fulgur_optimizer_adamw(m.h, 0.01, 0.9, 0.999, 1e-8, 1e-2, &o.h));
    Tensor xt, yt;
    wrap(x, {8, 3}, xt);
    wrap(y, {8, 1}, yt);
    std::vector<double> losses;
    for (int s = 0; s < 5; ++s) losses.push_back(c_step(m.h, o.h, xt.h, yt.h));
    CHECK(losses == ref_losses);
    CHECK(losses.back() < losses.front());
    CHECK(same_bits(all_parameters(m.h), ref));
    int64_t steps = 0;
    CHECK_OK(fulgur_optimizer_num_steps(o.h, &steps));
    CHECK(steps == 5);
  }
}

TEST_CASE("cross entropy equals -log softmax at the target, computed by hand") {
  std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f};  // [2, 3]
  std::vector<int64_t> target = {1, 2};
  Tensor lt, tt, loss;
  wrap(logits, {2, 3}, lt);
  const int64_t n = 2;
  CHECK_OK(fulgur_tensor_from_data(target.data(), FULGUR_INT64, 1, &n, nullptr, kHost, &tt.h));
  CHECK_OK(fulgur_loss(FULGUR_LOSS_CROSS_ENTROPY, lt.h, tt.h, &loss.h));
  double ref = 0;
  for (int i = 0; i < 2; ++i) {
    double z = 0;
    for (int c = 0; c < 3; ++c) z += std::exp(static_cast<double>(logits[3 * i + c]));
    ref += std::log(z) - logits[3 * i + target[i]];
  }
  double v = 0;
  CHECK_OK(fulgur_tensor_item(loss.h, &v));
  CHECK(v == doctest::Approx(ref / 2).epsilon(1e-6));
}

TEST_CASE("learning rate get and set") {
  Model m;
  build_mlp(1, m);
  Optimizer o;
  CHECK_OK(fulgur_optimizer_sgd(m.h, 0.1, 0, 0, 0, &o.h));
  double lr = 0;
  CHECK_OK(fulgur_optimizer_get_lr(o.h, &lr));
  CHECK(lr == 0.1);
  CHECK_OK(fulgur_optimizer_set_lr(o.h, 0.025));
  CHECK_OK(fulgur_optimizer_get_lr(o.h, &lr));
  CHECK(lr == 0.025);
  CHECK(fulgur_optimizer_set_lr(o.h, -1) == FULGUR_INVALID_ARGUMENT);
}

TEST_CASE("save, load into a fresh model and optimizer, and training continues bit-exactly") {
  std::vector<float> x = inputs8();
  std::vector<float> y = targets8(x);
  Tensor xt, yt;
  wrap(x, {8, 3}, xt);
  wrap(y, {8, 1}, yt);
  // Dropout draws from the model's stream: the checkpoint must carry it too.
  auto build = [](uint64_t seed, Model& m) {
    CHECK_OK(fulgur_model_create(seed, &m.h));
    CHECK_OK(fulgur_model_add_linear(m.h, 3, 16, 1));
    CHECK_OK(fulgur_model_add_gelu(m.h, 0));
    CHECK_OK(fulgur_model_add_dropout(m.h, 0.25));
    CHECK_OK(fulgur_model_add_layer_norm(m.h, 16, 1e-5));
    CHECK_OK(fulgur_model_add_linear(m.h, 16, 1, 1));
  };
  Model a;
  build(5, a);
  Optimizer oa;
  CHECK_OK(fulgur_optimizer_adam(a.h, 0.01, 0.9, 0.999, 1e-8, 0, &oa.h));
  for (int s = 0; s < 3; ++s) c_step(a.h, oa.h, xt.h, yt.h);
  const std::string path = tmp_path("capi_resume.ckpt");
  CHECK_OK(fulgur_checkpoint_save(a.h, oa.h, path.c_str()));
  std::vector<double> losses_a;
  for (int s = 0; s < 3; ++s) losses_a.push_back(c_step(a.h, oa.h, xt.h, yt.h));

  Model b;
  build(999, b);  // other initial weights and stream: all must come from the file
  Optimizer ob;
  CHECK_OK(fulgur_optimizer_adam(b.h, 0.5, 0.9, 0.999, 1e-8, 0, &ob.h));
  CHECK(!same_bits(all_parameters(a.h), all_parameters(b.h)));
  CHECK_OK(fulgur_checkpoint_load(b.h, ob.h, path.c_str(), nullptr));
  int64_t steps = 0;
  CHECK_OK(fulgur_optimizer_num_steps(ob.h, &steps));
  CHECK(steps == 3);
  double lr = 0;
  CHECK_OK(fulgur_optimizer_get_lr(ob.h, &lr));
  CHECK(lr == 0.01);
  std::vector<double> losses_b;
  for (int s = 0; s < 3; ++s) losses_b.push_back(c_step(b.h, ob.h, xt.h, yt.h));
  CHECK(losses_a == losses_b);
  CHECK(same_bits(all_parameters(a.h), all_parameters(b.h)));
}

TEST_CASE("a Lightning-layout checkpoint written from C++ loads with a key prefix") {
  namespace nn = fulgur::nn;
  fulgur::manual_seed(11);
  auto first = std::make_shared<nn::Linear>(3, 4);
  auto second = std::make_shared<nn::Linear>(4, 1);
  nn::Sequential net(first, nn::Tanh(), second);
  fulgur::optim::SGD opt(net.parameters(), {.lr = 0.3, .momentum = 0.9});
  // The layout Trainer::save_checkpoint writes for a LightningModule holding `net`.
  fulgur::Value state = fulgur::Value::dict();
  for (const auto& [k, t] : net.state_dict()) state.set("net." + k, t);
  const std::string path = tmp_path("capi_lightning.ckpt");
  fulgur::save(fulgur::Value::dict({{"epoch", 2},
                                    {"global_step", 17},
                                    {"state_dict", state},
                                    {"optimizer_states", fulgur::Value::list({opt.state_dict()})}}),
               path);
  Model m;
  build_mlp(12, m);
  Optimizer o;
  CHECK_OK(fulgur_optimizer_sgd(m.h, 0.1, 0.9, 0, 0, &o.h));
  // Without the prefix nothing matches: every key is missing, and the model is unchanged.
  const std::vector<float> before = all_parameters(m.h);
  CHECK(fulgur_checkpoint_load(m.h, o.h, path.c_str(), nullptr) == FULGUR_SHAPE_MISMATCH);
  CHECK(std::string(fulgur_last_error()).find("missing \"0.weight\"") != std::string::npos);
  CHECK(same_bits(all_parameters(m.h), before));
  CHECK_OK(fulgur_checkpoint_load(m.h, o.h, path.c_str(), "net."));
  std::vector<float> ref;
  for (const fulgur::Tensor& p : net.parameters()) {
    const std::vector<float> v = p.to_vector<float>();
    ref.insert(ref.end(), v.begin(), v.end());
  }
  CHECK(same_bits(all_parameters(m.h), ref));
  double lr = 0;
  CHECK_OK(fulgur_optimizer_get_lr(o.h, &lr));
  CHECK(lr == 0.3);
  int64_t steps = 0;
  CHECK_OK(fulgur_optimizer_num_steps(o.h, &steps));
  CHECK(steps == 17);
}

namespace {
// A LightningModule holding the C model's layers as `net` (state_dict keys "net.0.weight"...).
class RegressionModule : public fulgur::lightning::LightningModule {
 public:
  RegressionModule() {
    namespace nn = fulgur::nn;
    auto first = std::make_shared<nn::Linear>(3, 4);
    auto second = std::make_shared<nn::Linear>(4, 1);
    net = register_module("net", nn::Sequential(first, nn::Tanh(), second));
  }
  fulgur::Tensor forward(const fulgur::Tensor& x) override { return (*net)(x); }
  fulgur::lightning::StepOutput training_step(const fulgur::lightning::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return fulgur::nn::functional::mse_loss(forward(x), y);
  }
  fulgur::lightning::OptimizerConfig configure_optimizers() override {
    return std::make_shared<fulgur::optim::SGD>(parameters(), fulgur::optim::SGDOptions{.lr = 0.05, .momentum = 0.9});
  }
  std::shared_ptr<fulgur::nn::Sequential> net;
};
}  // namespace

TEST_CASE("a checkpoint of the C++ Trainer loads from C and training continues bit-exactly") {
  auto data = fulgur::testing::regression_data(16);
  fulgur::manual_seed(5);
  RegressionModule module;
  fulgur::lightning::Trainer trainer(fulgur::testing::quiet_options({.max_epochs = 2}));
  trainer.fit(module, fulgur::data::DataLoader(data, {.batch_size = 4}));
  REQUIRE(trainer.global_step() == 8);
  const std::string path = tmp_path("capi_trainer.ckpt");
  trainer.save_checkpoint(path);

  // Three more steps in C++ on the Trainer's own model and optimizer: the reference.
  std::vector<float> x = inputs8();
  std::vector<float> y = targets8(x);
  const fulgur::Tensor xr = fulgur::from_blob(x.data(), {8, 3}, fulgur::kFloat32);
  const fulgur::Tensor yr = fulgur::from_blob(y.data(), {8, 1}, fulgur::kFloat32);
  fulgur::optim::Optimizer& opt = *trainer.optimizers()[0];
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    fulgur::Tensor loss = fulgur::nn::functional::mse_loss(module(xr), yr);
    loss.backward();
    opt.step();
  }
  std::vector<float> ref;
  for (const fulgur::Tensor& p : module.parameters()) {
    const std::vector<float> v = p.to_vector<float>();
    ref.insert(ref.end(), v.begin(), v.end());
  }

  // The same from C: other initial weights and lr, all replaced by the checkpoint.
  Model m;
  build_mlp(77, m);
  Optimizer o;
  CHECK_OK(fulgur_optimizer_sgd(m.h, 0.5, 0.9, 0, 0, &o.h));
  CHECK_OK(fulgur_checkpoint_load(m.h, o.h, path.c_str(), "net."));
  int64_t steps = 0;
  CHECK_OK(fulgur_optimizer_num_steps(o.h, &steps));
  CHECK(steps == 8);
  Tensor xt, yt;
  wrap(x, {8, 3}, xt);
  wrap(y, {8, 1}, yt);
  for (int s = 0; s < 3; ++s) c_step(m.h, o.h, xt.h, yt.h);
  CHECK(same_bits(all_parameters(m.h), ref));
}

TEST_CASE("inference sessions write into caller buffers: ONNX file and model") {
  Model m;
  build_mlp(21, m);
  std::vector<float> x = inputs8();
  Tensor xt, ref;
  wrap(x, {8, 3}, xt);
  CHECK_OK(fulgur_model_set_training(m.h, 0));
  CHECK_OK(fulgur_model_forward(m.h, xt.h, &ref.h));
  const std::vector<float> expected = read(ref.h);

  const std::string path = tmp_path("capi_mlp.onnx");
  std::vector<float> sample(3 * 2, 0.5f);
  Tensor st;
  wrap(sample, {2, 3}, st);
  CHECK_OK(fulgur_model_export_onnx(m.h, path.c_str(), st.h));
  Session onnx;
  CHECK_OK(fulgur_session_from_onnx(path.c_str(), &onnx.h));
  int32_t n_in = 0, n_out = 0;
  CHECK_OK(fulgur_session_num_inputs(onnx.h, &n_in));
  CHECK_OK(fulgur_session_num_outputs(onnx.h, &n_out));
  CHECK(n_in == 1);
  CHECK(n_out == 1);
  std::vector<float> out(8, -1.0f);
  Tensor ot;
  wrap(out, {8, 1}, ot);
  const fulgur_tensor* inputs[] = {xt.h};
  fulgur_tensor* outputs[] = {ot.h};
  CHECK_OK(fulgur_session_run(onnx.h, 1, inputs, 1, outputs));
  for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == doctest::Approx(expected[i]).epsilon(1e-5));

  // A session over the model (training mode now): runs in eval mode, restores the mode.
  CHECK_OK(fulgur_model_set_training(m.h, 1));
  Session ms;
  CHECK_OK(fulgur_session_from_model(m.h, &ms.h));
  std::vector<float> out2(8, -1.0f);
  Tensor ot2;
  wrap(out2, {8, 1}, ot2);
  fulgur_tensor* outputs2[] = {ot2.h};
  CHECK_OK(fulgur_session_run(ms.h, 1, inputs, 1, outputs2));
  CHECK(same_bits(out2, expected));
  // The session keeps the parameters alive after the model handle is gone.
  fulgur_model_destroy(m.h);
  m.h = nullptr;
  std::fill(out2.begin(), out2.end(), 0.0f);
  CHECK_OK(fulgur_session_run(ms.h, 1, inputs, 1, outputs2));
  CHECK(same_bits(out2, expected));

  // A wrongly shaped output buffer: an error, and the buffer is left as it was.
  std::vector<float> small(4, 7.0f);
  Tensor sm;
  wrap(small, {4, 1}, sm);
  fulgur_tensor* bad_outputs[] = {sm.h};
  CHECK(fulgur_session_run(onnx.h, 1, inputs, 1, bad_outputs) == FULGUR_SHAPE_MISMATCH);
  CHECK(std::string(fulgur_last_error()).find("output 0 is [8, 1] but outputs[0] is [4, 1]") != std::string::npos);
  CHECK(small == std::vector<float>(4, 7.0f));
}

TEST_CASE("an ONNX file as a trainable layer: same forward, same training, checkpoints, a new head") {
  // Reference: the model that wrote the file, trained by the same C loop. The ONNX graph
  // computes the same functions with other kernels (Gemm as matmul + add), so values agree to
  // float32 rounding, not bit for bit.
  Model m;
  build_mlp(21, m);
  const std::string path = tmp_path("capi_trainable.onnx");
  std::vector<float> sample(3 * 2, 0.5f);
  Tensor st;
  wrap(sample, {2, 3}, st);
  CHECK_OK(fulgur_model_export_onnx(m.h, path.c_str(), st.h));

  Model o;
  CHECK_OK(fulgur_model_create(0, &o.h));
  CHECK_OK(fulgur_model_add_onnx(o.h, path.c_str()));
  int64_t tensors = 0, scalars = 0, want_scalars = 0;
  CHECK_OK(fulgur_model_num_parameter_tensors(o.h, &tensors));
  CHECK_OK(fulgur_model_num_parameters(o.h, &scalars));
  CHECK_OK(fulgur_model_num_parameters(m.h, &want_scalars));
  CHECK(tensors == 4);
  CHECK(scalars == want_scalars);  // 3*4 + 4 + 4*1 + 1
  char name[64];
  CHECK_OK(fulgur_model_parameter_name(o.h, 0, name, sizeof(name)));
  CHECK(std::string(name).rfind("0.", 0) == 0);  // layer 0 of the C model, '.' of the initializer -> '_'

  std::vector<float> x = inputs8(), y = targets8(x);
  Tensor xt, yt, out_m, out_o;
  wrap(x, {8, 3}, xt);
  wrap(y, {8, 1}, yt);
  CHECK_OK(fulgur_model_forward(m.h, xt.h, &out_m.h));
  CHECK_OK(fulgur_model_forward(o.h, xt.h, &out_o.h));
  const std::vector<float> before_m = read(out_m.h), before_o = read(out_o.h);
  for (size_t i = 0; i < 8; ++i) CHECK(before_o[i] == doctest::Approx(before_m[i]).epsilon(1e-5));

  Optimizer om, oo;
  CHECK_OK(fulgur_optimizer_sgd(m.h, 0.1, 0.9, 0.0, 0, &om.h));
  CHECK_OK(fulgur_optimizer_sgd(o.h, 0.1, 0.9, 0.0, 0, &oo.h));
  double first = 0, last = 0;
  for (int k = 0; k < 20; ++k) {
    const double lm = c_step(m.h, om.h, xt.h, yt.h);
    last = c_step(o.h, oo.h, xt.h, yt.h);
    if (k == 0) first = last;
    CHECK(last == doctest::Approx(lm).epsilon(1e-4));
  }
  CHECK(last < 0.5 * first);  // gradients reached the initializers and the optimizer moved them
  // The trained weights, compared by sorting (the ONNX file orders its initializers by name).
  std::vector<float> pm = all_parameters(m.h), po = all_parameters(o.h);
  std::sort(pm.begin(), pm.end());
  std::sort(po.begin(), po.end());
  REQUIRE(pm.size() == po.size());
  for (size_t i = 0; i < pm.size(); ++i) CHECK(po[i] == doctest::Approx(pm[i]).epsilon(1e-4).scale(1e-3));

  // Checkpoint round trip into another model made from the same file.
  const std::string ckpt = tmp_path("capi_trainable.ckpt");
  CHECK_OK(fulgur_checkpoint_save(o.h, oo.h, ckpt.c_str()));
  Model o2;
  CHECK_OK(fulgur_model_create(0, &o2.h));
  CHECK_OK(fulgur_model_add_onnx(o2.h, path.c_str()));
  CHECK_OK(fulgur_checkpoint_load(o2.h, nullptr, ckpt.c_str(), nullptr));
  CHECK(same_bits(all_parameters(o2.h), all_parameters(o.h)));

  // A new head after the ONNX layer: [8, 1] -> [8, 2].
  CHECK_OK(fulgur_model_add_linear(o2.h, 1, 2, 1));
  Tensor head;
  CHECK_OK(fulgur_model_forward(o2.h, xt.h, &head.h));
  int64_t sizes[2] = {0, 0};
  CHECK_OK(fulgur_tensor_sizes(head.h, sizes));
  CHECK(sizes[0] == 8);
  CHECK(sizes[1] == 2);

  // Files that are not such a model.
  Model bad;
  CHECK_OK(fulgur_model_create(0, &bad.h));
  CHECK(fulgur_model_add_onnx(bad.h, tmp_path("missing.onnx").c_str()) == FULGUR_IO_ERROR);
  CHECK(std::string(fulgur_last_error()).find("fulgur_model_add_onnx: ") == 0);
  CHECK(fulgur_model_add_onnx(bad.h, ckpt.c_str()) == FULGUR_IO_ERROR);  // a checkpoint, not ONNX
  CHECK(fulgur_model_add_onnx(bad.h, nullptr) == FULGUR_INVALID_ARGUMENT);
  int64_t none = -1;
  CHECK_OK(fulgur_model_num_parameter_tensors(bad.h, &none));
  CHECK(none == 0);  // failed calls added nothing
}

TEST_CASE("every error path: the right status, a message naming the function, outputs untouched") {
  fulgur_tensor* const sentinel = reinterpret_cast<fulgur_tensor*>(0x1);
  auto error_contains = [](const char* part) {
    const std::string message = fulgur_last_error();
    INFO(message);
    return message.find(part) != std::string::npos;
  };
  std::vector<float> buf(12, 1.0f);
  const int64_t sizes[2] = {4, 3};

  SUBCASE("NULL handles and outputs") {
    fulgur_tensor* out = sentinel;
    CHECK(fulgur_model_forward(nullptr, nullptr, &out) == FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("fulgur_model_forward: model is NULL"));
    CHECK(out == sentinel);
    CHECK(fulgur_tensor_from_data(buf.data(), FULGUR_FLOAT32, 2, sizes, nullptr, kHost, nullptr) ==
          FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("out is NULL"));
    // Destroys accept NULL.
    fulgur_tensor_destroy(nullptr);
    fulgur_model_destroy(nullptr);
    fulgur_optimizer_destroy(nullptr);
    fulgur_session_destroy(nullptr);
  }
  SUBCASE("bad dtype, ndim, sizes, device") {
    fulgur_tensor* out = sentinel;
    CHECK(fulgur_tensor_from_data(buf.data(), static_cast<fulgur_dtype>(42), 2, sizes, nullptr, kHost, &out) ==
          FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("dtype 42 is not a fulgur_dtype"));
    CHECK(fulgur_tensor_from_data(buf.data(), FULGUR_FLOAT32, 17, sizes, nullptr, kHost, &out) ==
          FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("ndim 17 is outside [0, 16]"));
    const int64_t negative[2] = {4, -3};
    CHECK(fulgur_tensor_from_data(buf.data(), FULGUR_FLOAT32, 2, negative, nullptr, kHost, &out) ==
          FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("negative size"));
    if (!fulgur::cuda::is_available()) {  // this process never enables the emulated device
      CHECK(fulgur_tensor_from_data(buf.data(), FULGUR_FLOAT32, 2, sizes, nullptr, {FULGUR_DEVICE_CUDA, 0}, &out) ==
            FULGUR_UNSUPPORTED);
      CHECK(error_contains("this process has no CUDA device"));
      CHECK(out == sentinel);
    }
    CHECK(fulgur_tensor_from_data(buf.data(), FULGUR_FLOAT32, 2, sizes, nullptr, {5, 0}, &out) ==
          FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("neither FULGUR_DEVICE_CPU"));
    CHECK(out == sentinel);
  }
  SUBCASE("forward: shape and dtype") {
    Model m;
    build_mlp(1, m);
    Tensor wrong;
    const int64_t s2[2] = {3, 4};
    CHECK_OK(fulgur_tensor_from_data(buf.data(), FULGUR_FLOAT32, 2, s2, nullptr, kHost, &wrong.h));
    fulgur_tensor* out = sentinel;
    CHECK(fulgur_model_forward(m.h, wrong.h, &out) == FULGUR_SHAPE_MISMATCH);
    CHECK(error_contains("fulgur_model_forward: "));
    CHECK(out == sentinel);
    std::vector<int32_t> ints(12, 1);
    Tensor it;
    CHECK_OK(fulgur_tensor_from_data(ints.data(), FULGUR_INT32, 2, sizes, nullptr, kHost, &it.h));
    CHECK(fulgur_model_forward(m.h, it.h, &out) == FULGUR_DTYPE_MISMATCH);
    CHECK(error_contains("x is int32"));
    Model empty;
    CHECK_OK(fulgur_model_create(0, &empty.h));
    Tensor ok;
    CHECK_OK(fulgur_tensor_from_data(buf.data(), FULGUR_FLOAT32, 2, sizes, nullptr, kHost, &ok.h));
    CHECK(fulgur_model_forward(empty.h, ok.h, &out) == FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("no layers"));
    CHECK(fulgur_optimizer_sgd(empty.h, 0.1, 0, 0, 0, reinterpret_cast<fulgur_optimizer**>(&out)) ==
          FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("no parameters"));
    CHECK(fulgur_model_add_linear(m.h, 0, 2, 1) == FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("in_features is 0"));
    CHECK(fulgur_model_add_dropout(m.h, 1.5) == FULGUR_INVALID_ARGUMENT);
    CHECK(out == sentinel);
  }
  SUBCASE("losses, backward, item, copies") {
    std::vector<float> a(6, 1.0f), b(4, 1.0f);
    Tensor at, bt;
    wrap(a, {2, 3}, at);
    wrap(b, {4}, bt);
    fulgur_tensor* out = sentinel;
    CHECK(fulgur_loss(FULGUR_LOSS_MSE, at.h, bt.h, &out) == FULGUR_SHAPE_MISMATCH);
    CHECK(error_contains("input [2, 3] and target [4] differ"));
    CHECK(fulgur_loss(FULGUR_LOSS_CROSS_ENTROPY, at.h, bt.h, &out) == FULGUR_DTYPE_MISMATCH);
    CHECK(error_contains("takes int64 class indices"));
    CHECK(fulgur_loss(static_cast<fulgur_loss_kind>(9), at.h, at.h, &out) == FULGUR_INVALID_ARGUMENT);
    CHECK(out == sentinel);
    double v = 0;
    CHECK(fulgur_tensor_item(at.h, &v) == FULGUR_SHAPE_MISMATCH);
    CHECK(error_contains("has 6 elements, not one"));
    CHECK(fulgur_tensor_copy_to(at.h, b.data(), b.size() * sizeof(float)) == FULGUR_SHAPE_MISMATCH);
    CHECK(error_contains("needs 24 bytes, dst_bytes is 16"));
    CHECK(fulgur_tensor_copy(at.h, bt.h) == FULGUR_SHAPE_MISMATCH);
    // backward on a loss computed without a graph (eval mode).
    Model m;
    build_mlp(1, m);
    CHECK_OK(fulgur_model_set_training(m.h, 0));
    std::vector<float> x = inputs8(), y = targets8(x);
    Tensor xt, yt, pred, loss;
    wrap(x, {8, 3}, xt);
    wrap(y, {8, 1}, yt);
    CHECK_OK(fulgur_model_forward(m.h, xt.h, &pred.h));
    CHECK_OK(fulgur_loss(FULGUR_LOSS_MSE, pred.h, yt.h, &loss.h));
    CHECK(fulgur_tensor_backward(loss.h) == FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("does not depend on any parameter"));
  }
  SUBCASE("files") {
    Model m;
    build_mlp(1, m);
    CHECK(fulgur_checkpoint_load(m.h, nullptr, tmp_path("no_such.ckpt").c_str(), nullptr) == FULGUR_IO_ERROR);
    CHECK(error_contains("fulgur_checkpoint_load: "));
    fulgur_session* s = reinterpret_cast<fulgur_session*>(0x1);
    CHECK(fulgur_session_from_onnx(tmp_path("no_such.onnx").c_str(), &s) == FULGUR_IO_ERROR);
    CHECK(s == reinterpret_cast<fulgur_session*>(0x1));
    // A corrupt file (not a zip archive).
    const std::string junk = tmp_path("junk.ckpt");
    FILE* f = std::fopen(junk.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fputs("not a checkpoint", f);
    std::fclose(f);
    CHECK(fulgur_checkpoint_load(m.h, nullptr, junk.c_str(), nullptr) == FULGUR_IO_ERROR);
    CHECK(fulgur_checkpoint_save(m.h, nullptr, "/nonexistent-dir/x.ckpt") == FULGUR_IO_ERROR);
    // Other layers: a size mismatch, nothing loaded; no optimizer state when asked for one.
    const std::string path = tmp_path("other_layers.ckpt");
    Model other;
    CHECK_OK(fulgur_model_create(2, &other.h));
    CHECK_OK(fulgur_model_add_linear(other.h, 3, 5, 1));
    CHECK_OK(fulgur_model_add_tanh(other.h));
    CHECK_OK(fulgur_model_add_linear(other.h, 5, 1, 1));
    CHECK_OK(fulgur_checkpoint_save(other.h, nullptr, path.c_str()));
    const std::vector<float> before = all_parameters(m.h);
    CHECK(fulgur_checkpoint_load(m.h, nullptr, path.c_str(), nullptr) == FULGUR_SHAPE_MISMATCH);
    CHECK(error_contains("\"0.weight\" is [5, 3] in the file, [4, 3] in the model"));
    CHECK(same_bits(all_parameters(m.h), before));
    Optimizer o;
    CHECK_OK(fulgur_optimizer_sgd(other.h, 0.1, 0, 0, 0, &o.h));
    CHECK(fulgur_checkpoint_load(other.h, o.h, path.c_str(), nullptr) == FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("no \"optimizer_states\""));
  }
  SUBCASE("parameter index and name capacity") {
    Model m;
    build_mlp(1, m);
    fulgur_tensor* out = sentinel;
    CHECK(fulgur_model_parameter(m.h, 4, &out) == FULGUR_INVALID_ARGUMENT);
    CHECK(error_contains("parameter index 4 is outside [0, 4)"));
    CHECK(out == sentinel);
    char name[4];
    CHECK(fulgur_model_parameter_name(m.h, 0, name, sizeof name) == FULGUR_INVALID_ARGUMENT);
  }
}

TEST_CASE("the last error is per thread") {
  fulgur_tensor* out = nullptr;
  REQUIRE(fulgur_model_forward(nullptr, nullptr, &out) == FULGUR_INVALID_ARGUMENT);
  std::string other_before, other_after;
  std::thread t([&] {
    other_before = fulgur_last_error();
    fulgur_tensor_item(nullptr, nullptr);
    other_after = fulgur_last_error();
  });
  t.join();
  CHECK(other_before.empty());
  CHECK(other_after == "fulgur_tensor_item: tensor is NULL");
  CHECK(std::string(fulgur_last_error()) == "fulgur_model_forward: model is NULL");
}
