// Batch normalisation (torch.nn.BatchNorm1d/2d/3d).
//
//   nn::BatchNorm2d(64)    // BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
//   nn::BatchNorm1d(32, {.momentum = std::nullopt, .affine = false})
//
// As PyTorch: parameters weight (ones) and bias (zeros) [num_features] when affine; buffers
// running_mean (zeros), running_var (ones) and num_batches_tracked (int64 scalar 0) when
// track_running_stats. Training normalises with the batch statistics and updates the running
// ones (momentum, or the cumulative average 1 / num_batches_tracked when momentum is
// nullopt; running_var Bessel-corrected); eval uses the running statistics (the batch ones
// when they are not tracked).
#pragma once

#include <cstdint>
#include <optional>

#include "fulgur/nn/module.h"

namespace fulgur::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;  // nullopt: cumulative moving average
  bool affine = true;
  bool track_running_stats = true;
  DType dtype = DType::Float32;
  Device device = kCPU;
};

class BatchNormNd : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  // Running statistics back to zeros / ones, num_batches_tracked to 0.
  void reset_running_stats();
  // reset_running_stats(), then weight = 1 and bias = 0.
  void reset_parameters();

  int64_t num_features;
  double eps;
  std::optional<double> momentum;
  bool affine;
  bool track_running_stats;
  Tensor weight, bias;                                         // undefined without affine
  Tensor running_mean, running_var, num_batches_tracked;       // undefined without tracking

 protected:
  BatchNormNd(int64_t num_features, const BatchNormOptions& options, const char* name);
  // Throws PyTorch's "expected 4D input (got 3D input)" for the wrong rank.
  virtual void check_input_dim(const Tensor& x) const = 0;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNormNd {
 public:
  explicit BatchNorm1d(int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormNd(num_features, options, "BatchNorm1d") {}
  std::string name() const override { return "BatchNorm1d"; }

 protected:
  void check_input_dim(const Tensor& x) const override;
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNormNd {
 public:
  explicit BatchNorm2d(int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormNd(num_features, options, "BatchNorm2d") {}
  std::string name() const override { return "BatchNorm2d"; }

 protected:
  void check_input_dim(const Tensor& x) const override;
};

// Input [N, C, D, H, W].
class BatchNorm3d : public BatchNormNd {
 public:
  explicit BatchNorm3d(int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormNd(num_features, options, "BatchNorm3d") {}
  std::string name() const override { return "BatchNorm3d"; }

 protected:
  void check_input_dim(const Tensor& x) const override;
};

}  // namespace fulgur::nn
