// Activation modules (torch.nn): ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, Softmax,
// LogSoftmax. Each forwards to the F:: function of the same name (nn/functional/activation.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/nn/module.h"

namespace fulgur::nn {

struct ReLUOptions {
  bool inplace = false;
};
class ReLU : public Module {
 public:
  explicit ReLU(const ReLUOptions& options = {}) : inplace(options.inplace) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "ReLU"; }
  std::string extra_repr() const override { return inplace ? "inplace=True" : ""; }
  bool inplace;
};

struct LeakyReLUOptions {
  double negative_slope = 0.01;
  bool inplace = false;
};
// `nn::LeakyReLU(0.2)` or `nn::LeakyReLU({.negative_slope = 0.2})`.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(const LeakyReLUOptions& options = {})
      : negative_slope(options.negative_slope), inplace(options.inplace) {}
  explicit LeakyReLU(double negative_slope) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;
  double negative_slope;
  bool inplace = false;
};

struct GELUOptions {
  std::string approximate = "none";  // or "tanh"
};
// `nn::GELU()`, `nn::GELU("tanh")`.
class GELU : public Module {
 public:
  explicit GELU(const GELUOptions& options = {});
  explicit GELU(const std::string& approximate) : GELU(GELUOptions{approximate}) {}
  explicit GELU(const char* approximate) : GELU(GELUOptions{approximate}) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "GELU"; }
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }
  std::string approximate;
};

struct SiLUOptions {
  bool inplace = false;
};
class SiLU : public Module {
 public:
  explicit SiLU(const SiLUOptions& options = {}) : inplace(options.inplace) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "SiLU"; }
  std::string extra_repr() const override { return inplace ? "inplace=True" : ""; }
  bool inplace;
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sigmoid"; }
};

// dim unset: PyTorch's implicit choice (0 for 0-, 1- and 3-D inputs, else 1).
// `nn::Softmax(1)`, `nn::Softmax(-1)`.
class Softmax : public Module {
 public:
  explicit Softmax(std::optional<int64_t> dim = std::nullopt) : dim(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override;
  std::optional<int64_t> dim;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(std::optional<int64_t> dim = std::nullopt) : dim(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override;
  std::optional<int64_t> dim;
};

}  // namespace fulgur::nn
