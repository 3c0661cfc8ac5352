// Pooling layers (torch.nn.MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d).
//
//   nn::MaxPool2d(2)                                 // MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
//   nn::MaxPool2d({3, 3}, {.stride = 2, .padding = 1, .ceil_mode = true})
//   nn::AvgPool2d(3, {.stride = 2, .count_include_pad = false})
//   nn::AdaptiveAvgPool2d({5, 7}), nn::AdaptiveAvgPool2d({std::nullopt, 7}), nn::AdaptiveAvgPool2d(1)
//
// Sizes print as they were given (a number or a tuple), as PyTorch's reprs do; AvgPool1d
// prints tuples (PyTorch stores its sizes as tuples). No parameters or buffers.
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>

#include "fulgur/nn/functional/pooling.h"
#include "fulgur/nn/module.h"
#include "fulgur/nn/window_options.h"

namespace fulgur::nn {

struct MaxPoolOptions {
  IntOrTuple stride = {};  // none: kernel_size
  IntOrTuple padding = 0;
  IntOrTuple dilation = 1;
  bool return_indices = false;  // forward_with_indices() gives them either way
  bool ceil_mode = false;
};

struct AvgPoolOptions {
  IntOrTuple stride = {};  // none: kernel_size
  IntOrTuple padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
  std::optional<int64_t> divisor_override = std::nullopt;  // not for AvgPool1d
};

class MaxPoolNd : public Module {
 public:
  // forward(x) returns the values; forward_with_indices(x) returns (values, int64 indices),
  // what PyTorch's forward gives with return_indices=True.
  Tensor forward(const Tensor& x) override { return std::get<0>(forward_with_indices(x)); }
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& x);
  std::string extra_repr() const override;

  IntOrTuple kernel_size;
  IntOrTuple stride;
  IntOrTuple padding;
  IntOrTuple dilation;
  bool return_indices;
  bool ceil_mode;

 protected:
  MaxPoolNd(int64_t nsp, const IntOrTuple& kernel_size, const MaxPoolOptions& options);
  int64_t nsp_;
};

class MaxPool1d : public MaxPoolNd {
 public:
  explicit MaxPool1d(const IntOrTuple& kernel_size, const MaxPoolOptions& options = {})
      : MaxPoolNd(1, kernel_size, options) {}
  std::string name() const override { return "MaxPool1d"; }
};
class MaxPool2d : public MaxPoolNd {
 public:
  explicit MaxPool2d(const IntOrTuple& kernel_size, const MaxPoolOptions& options = {})
      : MaxPoolNd(2, kernel_size, options) {}
  std::string name() const override { return "MaxPool2d"; }
};
class MaxPool3d : public MaxPoolNd {
 public:
  explicit MaxPool3d(const IntOrTuple& kernel_size, const MaxPoolOptions& options = {})
      : MaxPoolNd(3, kernel_size, options) {}
  std::string name() const override { return "MaxPool3d"; }
};

class AvgPoolNd : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  IntOrTuple kernel_size;
  IntOrTuple stride;
  IntOrTuple padding;
  bool ceil_mode;
  bool count_include_pad;
  std::optional<int64_t> divisor_override;

 protected:
  AvgPoolNd(int64_t nsp, const IntOrTuple& kernel_size, const AvgPoolOptions& options);
  int64_t nsp_;
};

class AvgPool1d : public AvgPoolNd {
 public:
  explicit AvgPool1d(const IntOrTuple& kernel_size, const AvgPoolOptions& options = {});
  std::string name() const override { return "AvgPool1d"; }
};
class AvgPool2d : public AvgPoolNd {
 public:
  explicit AvgPool2d(const IntOrTuple& kernel_size, const AvgPoolOptions& options = {})
      : AvgPoolNd(2, kernel_size, options) {}
  std::string name() const override { return "AvgPool2d"; }
};
class AvgPool3d : public AvgPoolNd {
 public:
  explicit AvgPool3d(const IntOrTuple& kernel_size, const AvgPoolOptions& options = {})
      : AvgPoolNd(3, kernel_size, options) {}
  std::string name() const override { return "AvgPool3d"; }
};

class AdaptiveAvgPoolNd : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return "output_size=" + output_size.repr(); }
  functional::AdaptiveSize output_size;

 protected:
  AdaptiveAvgPoolNd(int64_t nsp, functional::AdaptiveSize output_size)
      : output_size(std::move(output_size)), nsp_(nsp) {}
  int64_t nsp_;
};

class AdaptiveAvgPool1d : public AdaptiveAvgPoolNd {
 public:
  explicit AdaptiveAvgPool1d(functional::AdaptiveSize output_size) : AdaptiveAvgPoolNd(1, std::move(output_size)) {}
  std::string name() const override { return "AdaptiveAvgPool1d"; }
};
class AdaptiveAvgPool2d : public AdaptiveAvgPoolNd {
 public:
  explicit AdaptiveAvgPool2d(functional::AdaptiveSize output_size) : AdaptiveAvgPoolNd(2, std::move(output_size)) {}
  std::string name() const override { return "AdaptiveAvgPool2d"; }
};
class AdaptiveAvgPool3d : public AdaptiveAvgPoolNd {
 public:
  explicit AdaptiveAvgPool3d(functional::AdaptiveSize output_size) : AdaptiveAvgPoolNd(3, std::move(output_size)) {}
  std::string name() const override { return "AdaptiveAvgPool3d"; }
};

}  // namespace fulgur::nn
