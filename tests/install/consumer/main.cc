// A program that uses fulgur the way an outside project does: built against an installed tree
// (tests/install_test.sh builds it with g++ + pkg-config and with CMake's find_package), never
// by Bazel. It subclasses nn::Module (vtable and typeinfo across the library boundary), trains
// it with SGD on a mean-squared error for a few steps, and checks the weights and losses
// against the same gradient descent written out here in plain doubles (the reference does not
// use fulgur). Then it provokes a shape error and catches it as fulgur::Error (typeinfo
// exported by libfulgur.so). Prints "install_consumer: OK" and exits 0 when all agree.
#include <fulgur/fulgur.h>
#include <fulgur/version.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace fulgur;

namespace {

// y = x . w + b, one output: a module defined outside the library.
class Affine : public nn::Module {
 public:
  explicit Affine(const std::vector<float>& w0, float b0) {
    weight = register_parameter("weight", from_vector(w0, Shape{static_cast<int64_t>(w0.size()), 1}));
    bias = register_parameter("bias", tensor<float>({b0}));
  }
  Tensor forward(const Tensor& x) override { return x.matmul(weight).add(bias); }
  std::string name() const override { return "Affine"; }
  Tensor weight;
  Tensor bias;
};

int failures = 0;

void expect_near(const char* what, double got, double want, double tol) {
  if (std::fabs(got - want) > tol) {
    std::printf("MISMATCH %s: fulgur %.9g, reference %.9g\n", what, got, want);
    ++failures;
  }
}

}  // namespace

int main() {
  std::printf("install_consumer: fulgur %s\n", FULGUR_VERSION_STRING);
  constexpr int kRows = 4, kCols = 3, kSteps = 5;
  constexpr double kLr = 0.1;
  const std::vector<float> x_data = {1, 2, 0.5f, -1, 0, 2, 0.5f, 1, -1, 2, -0.5f, 1};
  const std::vector<float> y_data = {1, -2, 0.5f, 3};
  const std::vector<float> w0 = {0.1f, -0.2f, 0.3f};
  const float b0 = 0.05f;

  // ---- fulgur ------------------------------------------------------------------------------
  const Tensor x = from_vector(x_data, Shape{kRows, kCols});
  const Tensor y = from_vector(y_data, Shape{kRows, 1});
  auto model = std::make_shared<Affine>(w0, b0);
  optim::SGD opt(model->parameters(), {.lr = kLr});
  std::vector<double> losses;
  for (int step = 0; step < kSteps; ++step) {
    opt.zero_grad();
    Tensor loss = F::mse_loss(model->forward(x), y);
    loss.backward();
    opt.step();
    losses.push_back(loss.item<double>());
  }

  // ---- reference: the same gradient descent in doubles ---------------------------------------
  // loss = mean_i (x_i . w + b - y_i)^2; dloss/dw = 2/N sum_i r_i x_i; dloss/db = 2/N sum_i r_i.
  std::vector<double> w(w0.begin(), w0.end());
  double b = b0;
  for (int step = 0; step < kSteps; ++step) {
    std::vector<double> gw(kCols, 0.0);
    double gb = 0, loss = 0;
    for (int i = 0; i < kRows; ++i) {
      double r = b - y_data[i];
      for (int j = 0; j < kCols; ++j) r += x_data[i * kCols + j] * w[j];
      loss += r * r / kRows;
      for (int j = 0; j < kCols; ++j) gw[j] += 2.0 * r * x_data[i * kCols + j] / kRows;
      gb += 2.0 * r / kRows;
    }
    expect_near(("loss at step " + std::to_string(step)).c_str(), losses[step], loss, 1e-5 * (1 + loss));
    for (int j = 0; j < kCols; ++j) w[j] -= kLr * gw[j];
    b -= kLr * gb;
  }
  const Tensor weight = model->weight.contiguous();
  for (int j = 0; j < kCols; ++j) {
    expect_near(("weight[" + std::to_string(j) + "]").c_str(), weight.data_ptr<float>()[j], w[j], 1e-5);
  }
  expect_near("bias", model->bias.item<double>(), b, 1e-5);
  std::printf("install_consumer: loss %.6f -> %.6f after %d SGD steps\n", losses.front(), losses.back(), kSteps);

  // ---- errors cross the library boundary as fulgur::Error ------------------------------------
  bool caught = false;
  try {
    (void)x.matmul(ones({2, 2}));  // [4, 3] @ [2, 2]
  } catch (const fulgur::Error& e) {
    caught = std::strstr(e.what(), "matmul") != nullptr;
    std::printf("install_consumer: caught fulgur::Error: %s\n", e.what());
  }
  if (!caught) {
    std::printf("MISMATCH: [4, 3] @ [2, 2] did not throw a fulgur::Error naming matmul\n");
    ++failures;
  }

  if (failures > 0) {
    std::printf("install_consumer: %d mismatches\n", failures);
    return 1;
  }
  std::printf("install_consumer: OK\n");
  return 0;
}
