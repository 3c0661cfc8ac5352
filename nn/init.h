// nn::init: in-place initialisers (torch.nn.init). Each runs under NoGradGuard, fills the
// tensor's own storage (so a parameter stays the same tensor: `init::zeros_(lin->bias)`
// changes the registered bias) and returns the same handle. Random ones
// draw from `generator` (the default generator when null). Fans follow PyTorch:
// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the
// receptive field is the product of the dims after the first two.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::init {

// The recommended gain for a nonlinearity: "linear", "conv1d".."conv3d",
// "conv_transpose1d".."conv_transpose3d", "sigmoid": 1; "tanh": 5/3; "relu": sqrt(2);
// "leaky_relu": sqrt(2 / (1 + param^2)) (param defaults to 0.01); "selu": 3/4.
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);
// (fan_in, fan_out); throws for tensors with fewer than 2 dims.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor uniform_(const Tensor& t, double a = 0.0, double b = 1.0, Generator* generator = nullptr);
Tensor normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
// Normal(mean, std) restricted to [a, b] (resampled until inside, so the distribution is the
// exact truncated normal).
Tensor trunc_normal_(const Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                      Generator* generator = nullptr);
Tensor constant_(const Tensor& t, double value);
Tensor zeros_(const Tensor& t);
Tensor ones_(const Tensor& t);
// Identity for 2-D tensors (torch.nn.init.eye_).
Tensor eye_(const Tensor& t);

// U(-gain * sqrt(6 / (fan_in + fan_out)), +...).
Tensor xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);
// N(0, gain * sqrt(2 / (fan_in + fan_out))).
Tensor xavier_normal_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);

struct KaimingOptions {
  double a = 0.0;                          // negative slope of the rectifier (leaky_relu)
  std::string mode = "fan_in";             // or "fan_out"
  std::string nonlinearity = "leaky_relu";  // as calculate_gain
};
// U(-bound, bound), bound = gain * sqrt(3 / fan).
Tensor kaiming_uniform_(const Tensor& t, const KaimingOptions& options = {}, Generator* generator = nullptr);
// N(0, gain / sqrt(fan)).
Tensor kaiming_normal_(const Tensor& t, const KaimingOptions& options = {}, Generator* generator = nullptr);

}  // namespace fulgur::nn::init
