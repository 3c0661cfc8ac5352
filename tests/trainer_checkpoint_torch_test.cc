// Python's torch.load reads a real Trainer checkpoint (a fit with save_hyperparameters, Adam +
// StepLR and ModelCheckpoint): tests/trainer_checkpoint_torch.py checks the state_dict against
// the module's values (written here as JSON), Lightning's top-level keys, the optimizer and
// scheduler states (loaded into torch's Adam and StepLR), loops and callbacks, with
// weights_only=False and True. Python: Debian's python3-torch (/usr/bin/python3); without it
// the test prints a SKIPPED line and passes.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "subprocess_util.h"
#include "tests/test_util.h"

using namespace fulgur;
using namespace fulgur::testing;
namespace L = fulgur::lightning;
namespace fs = std::filesystem;

namespace {

const char* kPython = "/usr/bin/python3";

class Model : public L::LightningModule {
 public:
  Model() : L::LightningModule(L::HParams{{"lr", 0.01}, {"hidden", 5}, {"activation", "tanh"}}) {
    save_hyperparameters();
    net = register_module("net", nn::Sequential(nn::Linear(3, hparam<int>("hidden")), nn::Tanh(),
                                                nn::Linear(hparam<int>("hidden"), 1)));
  }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::mse_loss(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override {
    auto opt = std::make_shared<optim::Adam>(parameters(), optim::AdamOptions{.lr = hparam<double>("lr")});
    return {opt,
            {.scheduler = std::make_shared<optim::StepLR>(*opt, optim::StepLROptions{.step_size = 1, .gamma = 0.9})}};
  }
  std::shared_ptr<nn::Sequential> net;
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// The module's state_dict as [[name, [shape, values]], ...]; %.9g round-trips a float32.
std::string state_dict_json(L::LightningModule& m) {
  std::string out = "[";
  for (const auto& [name, t] : m.state_dict()) {
    out += (out.size() > 1 ? ", [" : "[") + json_string(name) + ", [[";
    for (size_t i = 0; i < t.sizes().size(); ++i) out += (i ? ", " : "") + std::to_string(t.sizes()[i]);
    out += "], [";
    bool first = true;
    for (float v : t.contiguous().to_vector<float>()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
      out += (first ? "" : ", ") + std::string(buf);
      first = false;
    }
    out += "]]]";
  }
  return out + "]";
}

}  // namespace

TEST_CASE("trainer checkpoint: torch.load reads state_dict, optimizer, scheduler, loops, callbacks") {
  std::string probe;
  if (run_command(std::string(kPython) + " -c 'import torch'", probe) != 0) {
    const std::string why = "SKIPPED: trainer checkpoint torch check: " + std::string(kPython) +
                            " with torch is not available (apt-get install python3-torch)";
    std::cout << why << std::endl;
    MESSAGE(why);
    return;
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  const fs::path dir = (tmp != nullptr ? fs::path(tmp) : fs::temp_directory_path()) / "ckpt_torch";
  fs::remove_all(dir);
  fs::create_directories(dir);

  manual_seed(3);
  Tensor x = randn({16, 3});
  Tensor y = x.matmul(tensor<float>({0.5f, -1.0f, 2.0f}).reshape({3, 1}));
  Model model;
  auto checkpoint = std::make_shared<L::callbacks::ModelCheckpoint>(
      L::callbacks::ModelCheckpointOptions{.dirpath = (dir / "ckpts").string()});
  L::Trainer trainer({.callbacks = {checkpoint}, .max_epochs = 2, .logger = false, .enable_progress_bar = false,
                      .enable_model_summary = false, .default_root_dir = dir.string()});
  trainer.fit(model, data::DataLoader(std::make_shared<data::TensorDataset>(x, y), {.batch_size = 4}));
  const std::string path = checkpoint->best_model_path();
  REQUIRE(fs::path(path).filename() == "epoch=1-step=8.ckpt");

  const std::string expected = (dir / "expected.json").string();
  std::ofstream(expected) << "{\"state_dict\": " << state_dict_json(model) << ", \"epoch\": 1, \"global_step\": 8, "
                          << "\"hyper_parameters\": {\"lr\": 0.01, \"hidden\": 5, \"activation\": \"tanh\"}, "
                          << "\"checkpoint_state_key\": " << json_string(checkpoint->state_key()) << "}\n";
  const fs::path script = fs::path("tests") / "trainer_checkpoint_torch.py";
  std::string out;
  const int rc = run_command(std::string(kPython) + " " + shell_quoted(script.string()) + " " + shell_quoted(path) + " " +
                                 shell_quoted(expected),
                             out);
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("OK") != std::string::npos);
}
