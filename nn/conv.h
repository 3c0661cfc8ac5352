// Convolution layers (torch.nn.Conv1d/2d/3d, ConvTranspose1d/2d/3d).
//
//   nn::Conv2d(1, 32, 3)                                  // Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))
//   nn::Conv2d(32, 64, 3, {.stride = 2, .padding = 1, .bias = false})
//   nn::Conv2d(8, 8, {3, 5}, {.padding = "same", .dilation = 2, .groups = 4})
//   nn::ConvTranspose2d(16, 8, 3, {.stride = 2, .padding = 1, .output_padding = 1})
//
// Parameters as PyTorch: weight [out, in / groups, *kernel] ([in, out / groups, *kernel] for
// the transposed forms) ~ kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// with fan_in = weight.size(1) * prod(kernel); bias [out] ~ the same bound. padding_mode
// "zeros" (default), "reflect", "replicate" or "circular" (Conv*d; the transposed forms take
// only "zeros", as PyTorch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/nn/module.h"
#include "fulgur/nn/window_options.h"
#include "fulgur/tensor/generator.h"

namespace fulgur::nn {

struct ConvOptions {
  IntOrTuple stride = 1;
  ConvPadding padding = 0;  // numbers, "same" or "valid"
  IntOrTuple dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  std::string padding_mode = "zeros";
  DType dtype = DType::Float32;
  Device device = kCPU;
};

struct ConvTransposeOptions {
  IntOrTuple stride = 1;
  IntOrTuple padding = 0;
  IntOrTuple output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  IntOrTuple dilation = 1;
  std::string padding_mode = "zeros";
  DType dtype = DType::Float32;
  Device device = kCPU;
};

// What Conv*d and ConvTranspose*d share (PyTorch's _ConvNd): arguments, parameters, repr.
class ConvNd : public Module {
 public:
  std::string extra_repr() const override;
  // Draws the default initialisation again (from `generator`, the default when null).
  void reset_parameters(Generator* generator = nullptr);

  int64_t in_channels = 0;
  int64_t out_channels = 0;
  Shape kernel_size, stride, dilation, output_padding;
  ConvPadding padding = 0;  // as given ("same" / "valid" kept)
  Shape padding_values;      // the numbers (zeros for "valid"; unused for "same")
  int64_t groups = 1;
  bool transposed = false;
  std::string padding_mode = "zeros";
  Tensor weight;
  Tensor bias;  // undefined with {.bias = false}

 protected:
  ConvNd(int64_t nsp, const char* name, int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size,
         const ConvOptions& options);
  // padding_mode other than "zeros": the input padded that way (then convolved with padding
  // 0, forward_padding()), as PyTorch's _conv_forward.
  Tensor padded(const Tensor& x) const;
  ConvPadding forward_padding() const;
  ConvNd(int64_t nsp, const char* name, int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size,
         const ConvTransposeOptions& options);
  int64_t nsp_ = 2;
};

class Conv1d : public ConvNd {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size, const ConvOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Conv1d"; }
};

class Conv2d : public ConvNd {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size, const ConvOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Conv2d"; }
};

class Conv3d : public ConvNd {
 public:
  Conv3d(int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size, const ConvOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Conv3d"; }
};

// forward(x, output_size) picks output_padding so that the output has output_size (the
// spatial sizes, or the full shape), within the range PyTorch allows.
class ConvTranspose1d : public ConvNd {
 public:
  ConvTranspose1d(int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size,
                  const ConvTransposeOptions& options = {});
  using Module::operator();
  Tensor forward(const Tensor& x) override;
  Tensor forward(const Tensor& x, IntArrayRef output_size);
  Tensor operator()(const Tensor& x, IntArrayRef output_size) { return forward(x, output_size); }
  std::string name() const override { return "ConvTranspose1d"; }
};

class ConvTranspose2d : public ConvNd {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size,
                  const ConvTransposeOptions& options = {});
  using Module::operator();
  Tensor forward(const Tensor& x) override;
  Tensor forward(const Tensor& x, IntArrayRef output_size);
  Tensor operator()(const Tensor& x, IntArrayRef output_size) { return forward(x, output_size); }
  std::string name() const override { return "ConvTranspose2d"; }
};

class ConvTranspose3d : public ConvNd {
 public:
  ConvTranspose3d(int64_t in_channels, int64_t out_channels, const IntOrTuple& kernel_size,
                  const ConvTransposeOptions& options = {});
  using Module::operator();
  Tensor forward(const Tensor& x) override;
  Tensor forward(const Tensor& x, IntArrayRef output_size);
  Tensor operator()(const Tensor& x, IntArrayRef output_size) { return forward(x, output_size); }
  std::string name() const override { return "ConvTranspose3d"; }
};

}  // namespace fulgur::nn
