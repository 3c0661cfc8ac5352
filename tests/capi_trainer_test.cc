// The C ABI's host-driven Trainer (fulgur_trainer_*): the host's loop feeding batches must
// train exactly as the C API's own forward/loss/backward/step loop does (bit for bit), with
// accumulation, checkpoints that load back and resume, early stopping as a flag, callbacks,
// and errors as statuses.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fulgur/fulgur_c.h"
#include "tests/capi_test_util.h"

namespace {

constexpr fulgur_device kHost = {FULGUR_DEVICE_CPU, 0};

#define CHECK_OK(call) REQUIRE_MESSAGE((call) == FULGUR_OK, std::string(fulgur_last_error()))

std::string tmp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

struct Handles {
  fulgur_model* model = nullptr;
  fulgur_optimizer* opt = nullptr;
  fulgur_trainer* trainer = nullptr;
  ~Handles() {
    fulgur_trainer_destroy(trainer);
    fulgur_optimizer_destroy(opt);
    fulgur_model_destroy(model);
  }
};

// 3 -> 5 -> 1 tanh MLP from seed 11, SGD with momentum.
void build(Handles& h, double lr = 0.05) {
  CHECK_OK(fulgur_model_create(11, &h.model));
  CHECK_OK(fulgur_model_add_linear(h.model, 3, 5, 1));
  CHECK_OK(fulgur_model_add_tanh(h.model));
  CHECK_OK(fulgur_model_add_linear(h.model, 5, 1, 1));
  CHECK_OK(fulgur_optimizer_sgd(h.model, lr, 0.9, 0.0, 0, &h.opt));
}

// Batch k of a fixed synthetic regression problem: y = x0 - 2 x1 + 0.5 x2.
struct Batch {
  std::vector<float> x, y;
  fulgur_tensor* xt = nullptr;
  fulgur_tensor* yt = nullptr;
  explicit Batch(int k, int64_t n = 4) : x(static_cast<size_t>(n * 3)), y(static_cast<size_t>(n)) {
    for (int64_t i = 0; i < n; ++i) {
      for (int j = 0; j < 3; ++j) x[i * 3 + j] = std::sin(0.7f * static_cast<float>(k * 13 + i * 3 + j));
      y[i] = x[i * 3] - 2 * x[i * 3 + 1] + 0.5f * x[i * 3 + 2];
    }
    const int64_t xs[2] = {n, 3}, ys[2] = {n, 1};
    CHECK_OK(fulgur_tensor_from_data(x.data(), FULGUR_FLOAT32, 2, xs, nullptr, kHost, &xt));
    CHECK_OK(fulgur_tensor_from_data(y.data(), FULGUR_FLOAT32, 2, ys, nullptr, kHost, &yt));
  }
  ~Batch() {
    fulgur_tensor_destroy(xt);
    fulgur_tensor_destroy(yt);
  }
};

std::vector<float> params(fulgur_model* m) { return fulgur::capi_testing::all_parameter_values(m); }

// The C API's own loop: zero_grad, forward, loss, backward, step.
void manual_steps(Handles& h, int batches) {
  for (int k = 0; k < batches; ++k) {
    Batch b(k);
    CHECK_OK(fulgur_optimizer_zero_grad(h.opt));
    fulgur_tensor* out = nullptr;
    fulgur_tensor* loss = nullptr;
    CHECK_OK(fulgur_model_forward(h.model, b.xt, &out));
    CHECK_OK(fulgur_loss(FULGUR_LOSS_MSE, out, b.yt, &loss));
    CHECK_OK(fulgur_tensor_backward(loss));
    fulgur_tensor_destroy(loss);
    fulgur_tensor_destroy(out);
    CHECK_OK(fulgur_optimizer_step(h.opt));
  }
}

}  // namespace

TEST_CASE("C trainer: host-driven steps equal the C API's own training loop, bit for bit") {
  Handles ref, h;
  build(ref);
  build(h);
  manual_steps(ref, 6);
  fulgur_trainer_options o;
  fulgur_trainer_options_default(&o);
  CHECK(o.max_steps == -1);
  CHECK(o.accumulate_grad_batches == 1);
  CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
  CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
  std::vector<double> losses;
  for (int k = 0; k < 6; ++k) {
    Batch b(k);
    double loss = 0;
    CHECK_OK(fulgur_trainer_step(h.trainer, b.xt, b.yt, &loss));
    losses.push_back(loss);
  }
  CHECK_OK(fulgur_trainer_end(h.trainer));
  CHECK(params(h.model) == params(ref.model));
  int64_t step = 0;
  CHECK_OK(fulgur_trainer_global_step(h.trainer, &step));
  CHECK(step == 6);
  CHECK(losses.back() < losses.front());
}

TEST_CASE("C trainer: checkpoints load back into a C model and resume the step count") {
  namespace fs = std::filesystem;
  const std::string dir = tmp_path("capi_trainer_ckpt");
  fs::remove_all(dir);
  Handles h;
  build(h);
  fulgur_trainer_options o;
  fulgur_trainer_options_default(&o);
  o.checkpoint_dir = dir.c_str();
  o.save_last = 1;
  CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
  CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (int k = 0; k < 3; ++k) {
      Batch b(k);
      CHECK_OK(fulgur_trainer_step(h.trainer, b.xt, b.yt, nullptr));
    }
    CHECK_OK(fulgur_trainer_epoch_end(h.trainer));
  }
  int64_t epoch = 0;
  CHECK_OK(fulgur_trainer_current_epoch(h.trainer, &epoch));
  CHECK(epoch == 2);
  CHECK_OK(fulgur_trainer_end(h.trainer));
  const std::string last = dir + "/last.ckpt";
  REQUIRE(fs::exists(last));
  // The Trainer's file holds the module's "net." weights: a fresh C model reads them.
  Handles loaded;
  build(loaded);
  CHECK_OK(fulgur_checkpoint_load(loaded.model, nullptr, last.c_str(), "net."));
  CHECK(params(loaded.model) == params(h.model));
  // Resuming through the trainer: step count and weights continue; one more step from there
  // equals one more step of the original run.
  Handles resumed;
  build(resumed);
  fulgur_trainer_options o2;
  fulgur_trainer_options_default(&o2);
  CHECK_OK(fulgur_trainer_create(&o2, &resumed.trainer));
  CHECK_OK(fulgur_trainer_begin(resumed.trainer, resumed.model, resumed.opt, FULGUR_LOSS_MSE, last.c_str()));
  int64_t step = 0;
  CHECK_OK(fulgur_trainer_global_step(resumed.trainer, &step));
  CHECK(step == 6);
  fulgur_trainer_options o3;
  fulgur_trainer_options_default(&o3);
  fulgur_trainer* more = nullptr;
  CHECK_OK(fulgur_trainer_create(&o3, &more));
  CHECK_OK(fulgur_trainer_begin(more, h.model, h.opt, FULGUR_LOSS_MSE, last.c_str()));
  Batch b(7);
  CHECK_OK(fulgur_trainer_step(resumed.trainer, b.xt, b.yt, nullptr));
  CHECK_OK(fulgur_trainer_step(more, b.xt, b.yt, nullptr));
  CHECK_OK(fulgur_trainer_end(resumed.trainer));
  CHECK_OK(fulgur_trainer_end(more));
  fulgur_trainer_destroy(more);
  CHECK(params(resumed.model) == params(h.model));
}

namespace {
struct Seen {
  std::vector<int64_t> steps;
  std::vector<double> val;
};
void on_batch(void* user, int64_t step, double) { static_cast<Seen*>(user)->steps.push_back(step); }
void on_val(void* user, int64_t, double value) { static_cast<Seen*>(user)->val.push_back(value); }
}  // namespace

TEST_CASE("C trainer: early stopping is a flag; callbacks see steps and val_loss; accumulation counts windows") {
  Handles h;
  build(h, /*lr=*/0.0);  // nothing improves: val_loss stays the same
  fulgur_trainer_options o;
  fulgur_trainer_options_default(&o);
  o.early_stopping_patience = 2;
  o.accumulate_grad_batches = 2;
  CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
  Seen seen;
  CHECK_OK(fulgur_trainer_set_callbacks(h.trainer, on_batch, on_val, &seen));
  CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
  Batch val(99);
  int epochs = 0;
  int32_t stop = 0;
  while (!stop && epochs < 10) {
    for (int k = 0; k < 4; ++k) {
      Batch b(k);
      CHECK_OK(fulgur_trainer_step(h.trainer, b.xt, b.yt, nullptr));
    }
    double v = 0;
    CHECK_OK(fulgur_trainer_validate(h.trainer, val.xt, val.yt, &v));
    CHECK(std::isfinite(v));
    CHECK_OK(fulgur_trainer_epoch_end(h.trainer));
    CHECK_OK(fulgur_trainer_should_stop(h.trainer, &stop));
    ++epochs;
  }
  CHECK_OK(fulgur_trainer_end(h.trainer));
  CHECK(epochs == 3);  // best at the first validation, then patience 2
  // 4 batches per epoch, 2 per optimizer step: the step count after each batch.
  REQUIRE(seen.steps.size() == 12);
  CHECK(seen.steps[0] == 0);
  CHECK(seen.steps[1] == 1);
  CHECK(seen.steps[3] == 2);
  CHECK(seen.steps.back() == 6);
  REQUIRE(seen.val.size() == 3);
  CHECK(seen.val[0] == seen.val[2]);  // lr 0: the same loss every time
}

TEST_CASE("C trainer: errors are statuses with messages; a failed step ends the fit") {
  Handles h;
  build(h);
  fulgur_trainer_options o;
  fulgur_trainer_options_default(&o);
  o.accumulate_grad_batches = 0;
  CHECK(fulgur_trainer_create(&o, &h.trainer) == FULGUR_INVALID_ARGUMENT);
  CHECK(std::string(fulgur_last_error()).find("accumulate_grad_batches is 0") != std::string::npos);
  fulgur_trainer_options_default(&o);
  CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
  Batch b(0);
  CHECK(fulgur_trainer_step(h.trainer, b.xt, b.yt, nullptr) == FULGUR_INVALID_ARGUMENT);
  CHECK(std::string(fulgur_last_error()).find("call fulgur_trainer_begin first") != std::string::npos);
  CHECK(fulgur_trainer_begin(h.trainer, h.model, h.opt, static_cast<fulgur_loss_kind>(9), nullptr) ==
        FULGUR_INVALID_ARGUMENT);
  CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
  // A target of the wrong shape: the loss refuses it, the fit ends as fit() would.
  std::vector<float> wrong(8, 0.f);
  const int64_t ws[2] = {4, 2};
  fulgur_tensor* wt = nullptr;
  CHECK_OK(fulgur_tensor_from_data(wrong.data(), FULGUR_FLOAT32, 2, ws, nullptr, kHost, &wt));
  CHECK(fulgur_trainer_step(h.trainer, b.xt, wt, nullptr) == FULGUR_SHAPE_MISMATCH);
  INFO(std::string(fulgur_last_error()));
  CHECK(std::string(fulgur_last_error()).find("input [4, 1] and target [4, 2] differ") != std::string::npos);
  CHECK(fulgur_trainer_step(h.trainer, b.xt, b.yt, nullptr) == FULGUR_INVALID_ARGUMENT);
  fulgur_tensor_destroy(wt);
  CHECK(fulgur_trainer_end(nullptr) == FULGUR_INVALID_ARGUMENT);
  fulgur_trainer_destroy(nullptr);
}

namespace {
double lr_of(const Handles& h) {
  double lr = -1;
  CHECK_OK(fulgur_optimizer_get_lr(h.opt, &lr));
  return lr;
}
}  // namespace

TEST_CASE("C trainer: lr schedules step per optimizer step or per epoch, and resume where they were") {
  // Expected values are PyTorch's closed forms (StepLR: lr0 * gamma^floor(last_epoch /
  // step_size)); gamma 0.5 keeps every value exact in binary, so == is the right comparison.
  SUBCASE("StepLR every 2 optimizer steps") {
    Handles h;
    build(h, 0.05);
    fulgur_trainer_options o;
    fulgur_trainer_options_default(&o);
    CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
    CHECK_OK(fulgur_trainer_set_lr_schedule(h.trainer, FULGUR_LR_STEP, 1, 0.5, 2));
    CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
    for (int k = 1; k <= 6; ++k) {
      Batch b(k);
      CHECK_OK(fulgur_trainer_step(h.trainer, b.xt, b.yt, nullptr));
      CHECK(lr_of(h) == 0.05 * std::pow(0.5, k / 2));
    }
    CHECK_OK(fulgur_trainer_end(h.trainer));
  }
  SUBCASE("StepLR(step_size 2) per epoch, saved in the checkpoint and resumed") {
    namespace fs = std::filesystem;
    const std::string dir = tmp_path("capi_trainer_lr");
    fs::remove_all(dir);
    Handles h;
    build(h, 0.05);
    fulgur_trainer_options o;
    fulgur_trainer_options_default(&o);
    o.checkpoint_dir = dir.c_str();
    o.save_last = 1;
    CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
    CHECK_OK(fulgur_trainer_set_lr_schedule(h.trainer, FULGUR_LR_STEP, 2, 0.5, 0));
    CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
    const double after_epoch[3] = {0.05, 0.025, 0.025};  // last_epoch 1, 2, 3
    for (int epoch = 0; epoch < 3; ++epoch) {
      Batch b(epoch);
      CHECK_OK(fulgur_trainer_step(h.trainer, b.xt, b.yt, nullptr));
      CHECK_OK(fulgur_trainer_epoch_end(h.trainer));
      CHECK(lr_of(h) == after_epoch[epoch]);
    }
    CHECK_OK(fulgur_trainer_end(h.trainer));
    // Resumed, the schedule is at last_epoch 3: the next epoch end (4) halves the lr. A
    // schedule started afresh (last_epoch 0 -> 1) would leave it at 0.025.
    Handles resumed;
    build(resumed, 0.05);
    fulgur_trainer_options o2;
    fulgur_trainer_options_default(&o2);
    CHECK_OK(fulgur_trainer_create(&o2, &resumed.trainer));
    CHECK_OK(fulgur_trainer_set_lr_schedule(resumed.trainer, FULGUR_LR_STEP, 2, 0.5, 0));
    const std::string last = dir + "/last.ckpt";
    CHECK_OK(fulgur_trainer_begin(resumed.trainer, resumed.model, resumed.opt, FULGUR_LOSS_MSE, last.c_str()));
    CHECK(lr_of(resumed) == 0.025);
    Batch b(3);
    CHECK_OK(fulgur_trainer_step(resumed.trainer, b.xt, b.yt, nullptr));
    CHECK_OK(fulgur_trainer_epoch_end(resumed.trainer));
    CHECK(lr_of(resumed) == 0.0125);
    CHECK_OK(fulgur_trainer_end(resumed.trainer));
  }
  SUBCASE("ReduceLROnPlateau on val_loss at epoch ends") {
    // lr 1e-6: each epoch's step changes val_loss by far less than the plateau's relative
    // threshold 1e-4, so every epoch after the first is "no improvement"; patience 0 halves
    // the lr at each of them (powers of two times 1e-6: exact).
    Handles h;
    build(h, 1e-6);
    fulgur_trainer_options o;
    fulgur_trainer_options_default(&o);
    CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
    CHECK_OK(fulgur_trainer_set_lr_schedule(h.trainer, FULGUR_LR_PLATEAU, 0.5, 0, 0));
    CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
    Batch val(99);
    for (int epoch = 0; epoch < 3; ++epoch) {
      Batch b(epoch);
      CHECK_OK(fulgur_trainer_step(h.trainer, b.xt, b.yt, nullptr));
      CHECK_OK(fulgur_trainer_validate(h.trainer, val.xt, val.yt, nullptr));
      CHECK_OK(fulgur_trainer_epoch_end(h.trainer));
      CHECK(lr_of(h) == 1e-6 * std::pow(0.5, epoch));
    }
    CHECK_OK(fulgur_trainer_end(h.trainer));
  }
  SUBCASE("bad schedules are refused with a message, and not during a fit") {
    Handles h;
    build(h);
    fulgur_trainer_options o;
    fulgur_trainer_options_default(&o);
    CHECK_OK(fulgur_trainer_create(&o, &h.trainer));
    CHECK(fulgur_trainer_set_lr_schedule(h.trainer, FULGUR_LR_STEP, 1.5, 0.5, 0) == FULGUR_INVALID_ARGUMENT);
    CHECK(std::string(fulgur_last_error()).find("step_size (param1) must be an integer >= 1") != std::string::npos);
    CHECK(fulgur_trainer_set_lr_schedule(h.trainer, FULGUR_LR_PLATEAU, 0.5, 2, 3) == FULGUR_INVALID_ARGUMENT);
    CHECK(std::string(fulgur_last_error()).find("pass every_n_steps 0") != std::string::npos);
    CHECK(fulgur_trainer_set_lr_schedule(h.trainer, static_cast<fulgur_lr_schedule>(7), 1, 1, 0) ==
          FULGUR_INVALID_ARGUMENT);
    CHECK(fulgur_trainer_set_lr_schedule(nullptr, FULGUR_LR_CONSTANT, 0, 0, 0) == FULGUR_INVALID_ARGUMENT);
    CHECK_OK(fulgur_trainer_begin(h.trainer, h.model, h.opt, FULGUR_LOSS_MSE, nullptr));
    CHECK(fulgur_trainer_set_lr_schedule(h.trainer, FULGUR_LR_EXPONENTIAL, 0.9, 0, 0) == FULGUR_INVALID_ARGUMENT);
    CHECK(std::string(fulgur_last_error()).find("before fulgur_trainer_begin") != std::string::npos);
    CHECK_OK(fulgur_trainer_end(h.trainer));
  }
}
