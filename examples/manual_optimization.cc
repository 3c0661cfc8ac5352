// Manual optimization (Lightning's `self.automatic_optimization = False`): a small GAN that
// learns a 2-D Gaussian. The generator maps noise to points, the discriminator tells real
// points from generated ones; training_step steps the two optimizers in turn with
// toggle_optimizer / manual_backward / step / zero_grad / untoggle_optimizer, as Lightning's
// GAN example does.
//
//   ./bazelw run //examples:manual_optimization
//   ./bazelw run //examples:manual_optimization -- --trainer.max_epochs=10
//
// At the end it samples 4096 points and compares their mean and standard deviation with the
// target's (mean (2, -1), std (0.5, 1.0)); it exits non-zero when a mean is off by more than
// --tolerance (default 0.25) or a std by more than a factor of two, so that the example also
// runs as a test (--seed_everything=N changes the seed, 42 by default).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fulgur/fulgur.h"

using namespace fulgur;
namespace F = fulgur::nn::functional;
namespace L = fulgur::lightning;

namespace {

const double kMean[2] = {2.0, -1.0};
const double kStd[2] = {0.5, 1.0};

// Real data: 8192 points of the target Gaussian.
data::TensorDataset make_real_points(int64_t n) {
  Generator gen(1234);
  Tensor points = randn({n, 2}, {}, &gen) * tensor({kStd[0], kStd[1]}).to(kFloat32) +
                  tensor({kMean[0], kMean[1]}).to(kFloat32);
  return data::TensorDataset(points);
}

class GAN : public L::LightningModule {
 public:
  explicit GAN(L::HParams hp = {})
      : L::LightningModule(hp.with_defaults({{"latent", 8}, {"hidden", 64}, {"lr", 1e-3}})) {
    save_hyperparameters();
    const int64_t latent = hparam<int64_t>("latent"), hidden = hparam<int64_t>("hidden");
    generator_ = register_module("generator", std::make_shared<nn::Sequential>(
                                                  nn::Linear(latent, hidden), nn::LeakyReLU(0.2),
                                                  nn::Linear(hidden, hidden), nn::LeakyReLU(0.2), nn::Linear(hidden, 2)));
    discriminator_ = register_module("discriminator", std::make_shared<nn::Sequential>(
                                                          nn::Linear(2, hidden), nn::LeakyReLU(0.2),
                                                          nn::Linear(hidden, hidden), nn::LeakyReLU(0.2),
                                                          nn::Linear(hidden, 1)));
    automatic_optimization(false);
  }

  // Generated points for a batch of noise.
  Tensor forward(const Tensor& z) override { return generator_->forward(z); }

  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    const Tensor real = batch.tensor(0);
    const int64_t n = real.size(0);
    auto [g_opt, d_opt] = std::pair(optimizer(0), optimizer(1));
    const Tensor ones = fulgur::ones({n, 1}), zeros = fulgur::zeros({n, 1});

    // Generator: make the discriminator call its points real.
    toggle_optimizer(g_opt.optimizer());
    const Tensor fake = forward(randn({n, hparam<int64_t>("latent")}));
    const Tensor g_loss = F::binary_cross_entropy_with_logits(discriminator_->forward(fake), ones);
    manual_backward(g_loss);
    g_opt.step();
    g_opt.zero_grad();
    untoggle_optimizer(g_opt.optimizer());

    // Discriminator: real points are real, the generator's (detached) are fake.
    toggle_optimizer(d_opt.optimizer());
    const Tensor d_loss = (F::binary_cross_entropy_with_logits(discriminator_->forward(real), ones) +
                           F::binary_cross_entropy_with_logits(discriminator_->forward(fake.detach()), zeros)) /
                          2;
    manual_backward(d_loss);
    d_opt.step();
    d_opt.zero_grad();
    untoggle_optimizer(d_opt.optimizer());

    log_dict({{"g_loss", g_loss}, {"d_loss", d_loss}}, {.prog_bar = true});
    return {};
  }

  L::OptimizerConfig configure_optimizers() override {
    const double lr = hparam<double>("lr");
    // Adam with beta1 = 0.5, the usual GAN setting; the learning rates fall by 2x every 15
    // epochs so that the two players settle instead of orbiting each other.
    auto g_opt = std::make_shared<optim::Adam>(generator_->parameters(), optim::AdamOptions{.lr = lr, .betas = {0.5, 0.999}});
    auto d_opt =
        std::make_shared<optim::Adam>(discriminator_->parameters(), optim::AdamOptions{.lr = lr, .betas = {0.5, 0.999}});
    const optim::StepLROptions decay{.step_size = 15, .gamma = 0.5};
    return L::OptimizerConfig({g_opt, d_opt}, {{.scheduler = std::make_shared<optim::StepLR>(*g_opt, decay)},
                                               {.scheduler = std::make_shared<optim::StepLR>(*d_opt, decay)}});
  }

  // Manual optimization steps its schedulers itself (Lightning: self.lr_schedulers()).
  void on_train_epoch_end() override {
    for (L::Scheduler& s : lr_schedulers()) s.step(std::nullopt);
  }

 private:
  std::shared_ptr<nn::Sequential> generator_, discriminator_;
};

}  // namespace

int main(int argc, char** argv) {
  int64_t max_epochs = 60;
  double tolerance = 0.25;
  std::string root;
  int64_t seed = 42;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--trainer.max_epochs=", 0) == 0) max_epochs = std::atoll(arg.c_str() + 21);
    else if (arg.rfind("--trainer.default_root_dir=", 0) == 0) root = arg.substr(27);
    else if (arg.rfind("--tolerance=", 0) == 0) tolerance = std::atof(arg.c_str() + 12);
    else if (arg.rfind("--seed_everything=", 0) == 0) seed = std::atoll(arg.c_str() + 18);
    else {
      std::fprintf(stderr,
                   "usage: manual_optimization [--trainer.max_epochs=N] [--trainer.default_root_dir=DIR] "
                   "[--tolerance=T] [--seed_everything=N]\n");
      return 2;
    }
  }
  L::seed_everything(seed);
  GAN model;
  data::DataLoader loader(make_real_points(8192), {.batch_size = 256, .shuffle = true});
  L::Trainer trainer({.max_epochs = max_epochs,
                      .logger = false,
                      .enable_checkpointing = false,
                      .default_root_dir = root});
  trainer.fit(model, loader);

  NoGradGuard no_grad;
  model.eval();
  const Tensor samples = model.forward(randn({4096, model.hparam<int64_t>("latent")}));
  const Tensor mean = samples.mean({0}), std = samples.std({0});
  int bad = 0;
  for (int64_t d = 0; d < 2; ++d) {
    const double m = mean[d].item<double>(), s = std[d].item<double>();
    std::printf("dimension %lld: mean %.3f (target %.1f), std %.3f (target %.1f)\n", static_cast<long long>(d), m,
                kMean[d], s, kStd[d]);
    // GAN training is chaotic: a different build's rounding changes the trajectory. The means
    // land within a few hundredths for every seed tried; the spread is looser (0.3-0.8 for a
    // target of 0.5 across seeds 1-6 and 42), so it is checked within a factor of two.
    if (std::abs(m - kMean[d]) > tolerance || s < kStd[d] / 2 || s > kStd[d] * 2) ++bad;
  }
  if (bad > 0) {
    std::fprintf(stderr, "the generator's means are off by more than %.2f or its spread by more than 2x\n",
                 tolerance);
    return 1;
  }
  std::printf("the generator matches the target's means within %.2f and its spread within 2x\n", tolerance);
  return 0;
}
