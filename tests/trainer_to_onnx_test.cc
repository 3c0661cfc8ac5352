// L::LightningModule::to_onnx (the seed's `model.to_onnx("model.onnx", sample)`): the file it
// writes loads in our ONNX runtime and computes the module's outputs, at another batch size.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fulgur/nn/onnx/session.h"
#include "tests/test_util.h"

using namespace fulgur;
namespace L = fulgur::lightning;

namespace {

class LitClassifier : public L::LightningModule {
 public:
  LitClassifier() {
    net = register_module("net", nn::Sequential(nn::Linear(6, 16), nn::ReLU(), nn::Linear(16, 3)));
  }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  L::StepOutput training_step(const L::Batch& batch, int64_t) override {
    auto [x, y] = batch.unpack<2>();
    return F::cross_entropy(forward(x), y);
  }
  L::OptimizerConfig configure_optimizers() override { return optim::SGD(parameters(), {.lr = 0.1}); }
  std::shared_ptr<nn::Sequential> net;
};

}  // namespace

TEST_CASE("LightningModule::to_onnx writes a model our runtime runs with the module's outputs") {
  manual_seed(3);
  LitClassifier model;
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = (std::filesystem::path(tmp ? tmp : "/tmp") / "lit.onnx").string();
  model.to_onnx(path, randn({2, 6}), {.input_names = {"x"}, .output_names = {"logits"}});
  onnx::InferenceSession session(path);
  const Tensor x = randn({5, 6});
  const std::vector<Tensor> out = session.run({x});
  REQUIRE(out.size() == 1);
  const Tensor expected = model.forward(x);
  CHECK(out[0].sizes() == expected.sizes());
  CHECK(allclose(out[0], expected, 1e-5, 1e-6));
  std::filesystem::remove(path);
}
