#include "fulgur/nn/init.h"

#include <cmath>

#include "fulgur/autograd/autograd.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn::init {

namespace {

void check_defined(const Tensor& t, const char* op) {
  FULGUR_CHECK(t.defined(), op, "the tensor is undefined");
}

// Random draws are made in float64 for float64 tensors and in float32 otherwise, then
// copied into t (converted to its dtype).
TensorOptions draw_options(const Tensor& t) {
  return {.dtype = t.dtype() == DType::Float64 ? DType::Float64 : DType::Float32, .device = t.device()};
}

void assign(const Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  Tensor h = t;
  h.copy_(values);
}

int64_t receptive_field(const Tensor& t) {
  int64_t r = 1;
  for (int64_t d = 2; d < t.dim(); ++d) r *= t.size(d);
  return r;
}

int64_t fan(const Tensor& t, const std::string& mode, const char* op) {
  FULGUR_CHECK(mode == "fan_in" || mode == "fan_out", op, "Mode ", mode,
               " not supported, please use one of fan_in, fan_out");
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == "fan_in" ? fan_in : fan_out;
}

}  // namespace

double calculate_gain(const std::string& nl, std::optional<double> param) {
  if (nl == "linear" || nl == "conv1d" || nl == "conv2d" || nl == "conv3d" || nl == "conv_transpose1d" ||
      nl == "conv_transpose2d" || nl == "conv_transpose3d" || nl == "sigmoid")
    return 1.0;
  if (nl == "tanh") return 5.0 / 3.0;
  if (nl == "relu") return std::sqrt(2.0);
  if (nl == "leaky_relu") {
    const double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (nl == "selu") return 3.0 / 4.0;
  FULGUR_FAIL("calculate_gain", "Unsupported nonlinearity ", nl,
              "; use linear, conv1d/2d/3d, conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu or selu");
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  check_defined(t, "calculate_fan_in_and_fan_out");
  FULGUR_CHECK(t.dim() >= 2, "calculate_fan_in_and_fan_out",
               "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got shape ",
               shape_str(t.sizes()), ")");
  const int64_t r = receptive_field(t);
  return {t.size(1) * r, t.size(0) * r};
}

Tensor uniform_(const Tensor& t, double a, double b, Generator* generator) {
  check_defined(t, "uniform_");
  FULGUR_CHECK(a <= b, "uniform_", "expects a <= b, got a = ", a, ", b = ", b);
  assign(t, rand(t.sizes(), draw_options(t), generator).mul(b - a).add(a));
  return t;
}

Tensor normal_(const Tensor& t, double mean, double std, Generator* generator) {
  check_defined(t, "normal_");
  FULGUR_CHECK(std >= 0, "normal_", "expects std >= 0.0, got ", std);
  assign(t, randn(t.sizes(), draw_options(t), generator).mul(std).add(mean));
  return t;
}

Tensor trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* generator) {
  check_defined(t, "trunc_normal_");
  FULGUR_CHECK(std > 0 && a < b, "trunc_normal_", "expects std > 0 and a < b, got std = ", std, ", a = ", a,
               ", b = ", b);
  const auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  const double mass = cdf((b - mean) / std) - cdf((a - mean) / std);
  FULGUR_CHECK(mass > 1e-6, "trunc_normal_", "[a, b] = [", a, ", ", b, "] holds almost none of N(", mean,
               ", ", std, "^2); pick bounds closer to the mean");
  const TensorOptions o = draw_options(t);
  Tensor values = randn(t.sizes(), o, generator).mul(std).add(mean);
  // Rejection: redraw the values outside [a, b] (whole-tensor draws, selected with where).
  for (int iter = 0; iter < 10000; ++iter) {
    const Tensor outside = values.lt(a).logical_or(values.gt(b));
    if (!outside.any().item<bool>()) break;
    values = where(outside, randn(t.sizes(), o, generator).mul(std).add(mean), values);
  }
  assign(t, values.clamp(a, b));
  return t;
}

Tensor constant_(const Tensor& t, double value) {
  check_defined(t, "constant_");
  NoGradGuard no_grad;
  Tensor h = t;
  h.fill_(value);
  return t;
}

Tensor zeros_(const Tensor& t) { return constant_(t, 0.0); }
Tensor ones_(const Tensor& t) { return constant_(t, 1.0); }

Tensor eye_(const Tensor& t) {
  check_defined(t, "eye_");
  FULGUR_CHECK(t.dim() == 2, "eye_", "Only tensors with 2 dimensions are supported, got ", shape_str(t.sizes()));
  assign(t, eye(t.size(0), t.size(1), {.dtype = t.dtype(), .device = t.device()}));
  return t;
}

Tensor xavier_uniform_(const Tensor& t, double gain, Generator* generator) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double a = std::sqrt(3.0) * std;
  return uniform_(t, -a, a, generator);
}

Tensor xavier_normal_(const Tensor& t, double gain, Generator* generator) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  return normal_(t, 0.0, std, generator);
}

Tensor kaiming_uniform_(const Tensor& t, const KaimingOptions& options, Generator* generator) {
  check_defined(t, "kaiming_uniform_");
  if (t.numel() == 0) return t;  // PyTorch warns and does nothing
  const int64_t f = fan(t, options.mode, "kaiming_uniform_");
  const double gain = calculate_gain(options.nonlinearity, options.a);
  const double bound = std::sqrt(3.0) * gain / std::sqrt(static_cast<double>(f));
  return uniform_(t, -bound, bound, generator);
}

Tensor kaiming_normal_(const Tensor& t, const KaimingOptions& options, Generator* generator) {
  check_defined(t, "kaiming_normal_");
  if (t.numel() == 0) return t;
  const int64_t f = fan(t, options.mode, "kaiming_normal_");
  const double gain = calculate_gain(options.nonlinearity, options.a);
  return normal_(t, 0.0, gain / std::sqrt(static_cast<double>(f)), generator);
}

}  // namespace fulgur::nn::init
