// optim::GradScaler against torch.amp.GradScaler's documented rules (torch/amp/grad_scaler.py):
// the loss times the scale, gradients times the float32 reciprocal, a step with an inf/NaN
// gradient skipped and the scale backed off, growth after growth_interval clean steps, the
// unscale_-once rule, state_dict keys and values, and a disabled scaler passing through.
#include <cmath>
#include <limits>
#include <vector>

#include "tests/test_util.h"

using namespace fulgur;

namespace {

// One parameter p (3 elements) under SGD(lr=1): a step subtracts the gradient.
struct Setup {
  Tensor p = tensor({1.0f, 2.0f, 3.0f}).requires_grad_();
  optim::SGD opt{std::vector<Tensor>{p}, {.lr = 1.0}};
};

}  // namespace

TEST_CASE("GradScaler: scale, unscale, step and update on clean gradients") {
  Setup s;
  optim::GradScaler scaler({.init_scale = 1024.0, .growth_interval = 3});
  CHECK(scaler.get_scale() == 1024.0);
  // loss = sum(p * w); d/dp = w.
  const Tensor w = tensor({0.5f, -0.25f, 2.0f});
  Tensor loss = (s.p * w).sum();
  Tensor scaled = scaler.scale(loss);
  CHECK(scaled.item<double>() == doctest::Approx(loss.item<double>() * 1024.0));
  scaled.backward();
  CHECK(s.p.grad().to_vector<float>() == std::vector<float>{512.0f, -256.0f, 2048.0f});
  scaler.unscale_(s.opt);
  CHECK(s.p.grad().to_vector<float>() == std::vector<float>{0.5f, -0.25f, 2.0f});
  CHECK_FALSE(scaler.found_inf());
  // A second unscale_ before update() is PyTorch's RuntimeError.
  CHECK_THROWS_WITH_AS(scaler.unscale_(s.opt), doctest::Contains("unscale_() has already been called"), Error);
  CHECK(scaler.step(s.opt));  // already unscaled: not divided again
  CHECK(s.p.detach().to_vector<float>() == std::vector<float>{0.5f, 2.25f, 1.0f});
  scaler.update();
  CHECK(scaler.get_scale() == 1024.0);
  CHECK(scaler.growth_tracker() == 1);
  // Two more clean steps reach growth_interval = 3: the scale doubles and the tracker resets.
  for (int i = 0; i < 2; ++i) {
    s.opt.zero_grad();
    scaler.scale((s.p * w).sum()).backward();
    CHECK(scaler.step(s.opt));  // unscales itself
    scaler.update();
  }
  CHECK(scaler.get_scale() == 2048.0);
  CHECK(scaler.growth_tracker() == 0);
}

TEST_CASE("GradScaler: an inf or NaN gradient skips the step and backs the scale off") {
  for (const double bad : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    Setup s;
    optim::GradScaler scaler({.init_scale = 256.0});
    scaler.update();  // a clean step first: tracker 1
    CHECK(scaler.growth_tracker() == 1);
    Tensor loss = (s.p * tensor({1.0f, static_cast<float>(bad), 1.0f})).sum();
    scaler.scale(loss).backward();
    CHECK_FALSE(scaler.step(s.opt));
    CHECK(scaler.found_inf());
    CHECK(s.p.detach().to_vector<float>() == std::vector<float>{1.0f, 2.0f, 3.0f});  // unchanged
    scaler.update();
    CHECK(scaler.get_scale() == 128.0);
    CHECK(scaler.growth_tracker() == 0);
    CHECK_FALSE(scaler.found_inf());
  }
}

TEST_CASE("GradScaler: state_dict has PyTorch's keys and loads back") {
  optim::GradScaler scaler({.init_scale = 4096.0, .growth_factor = 3.0, .backoff_factor = 0.25, .growth_interval = 7});
  scaler.update();
  scaler.update();
  const Value state = scaler.state_dict();
  CHECK(state.at("scale").to_double() == 4096.0);
  CHECK(state.at("growth_factor").to_double() == 3.0);
  CHECK(state.at("backoff_factor").to_double() == 0.25);
  CHECK(state.at("growth_interval").as_int() == 7);
  CHECK(state.at("_growth_tracker").as_int() == 2);
  optim::GradScaler other;
  other.load_state_dict(state);
  CHECK(other.get_scale() == 4096.0);
  CHECK(other.growth_tracker() == 2);
  CHECK(other.state_dict().at("growth_interval").as_int() == 7);
  // A disabled scaler's state is empty, and loading an empty state is PyTorch's error.
  optim::GradScaler disabled({.enabled = false});
  CHECK(disabled.state_dict().size() == 0);
  CHECK_THROWS_WITH_AS(other.load_state_dict(Value::dict()), doctest::Contains("The source state dict is empty"),
                       Error);
}

TEST_CASE("GradScaler: disabled, everything passes through; bad options are refused") {
  Setup s;
  optim::GradScaler scaler({.enabled = false});
  Tensor loss = s.p.sum();
  CHECK(scaler.scale(loss).item<double>() == 6.0);
  scaler.scale(loss).backward();
  CHECK(scaler.step(s.opt));
  CHECK(s.p.detach().to_vector<float>() == std::vector<float>{0.0f, 1.0f, 2.0f});
  CHECK(scaler.get_scale() == 1.0);
  CHECK_THROWS_AS(optim::GradScaler({.growth_factor = 1.0}), Error);
  CHECK_THROWS_AS(optim::GradScaler({.backoff_factor = 1.5}), Error);
  CHECK_THROWS_AS(optim::GradScaler({.growth_interval = 0}), Error);
  CHECK_THROWS_AS(optim::GradScaler({.init_scale = -1.0}), Error);
}
