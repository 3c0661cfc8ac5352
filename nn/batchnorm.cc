#include "fulgur/nn/batchnorm.h"

#include "fulgur/autograd/autograd.h"
#include "fulgur/nn/functional/normalization.h"
#include "fulgur/nn/init.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn {

BatchNormNd::BatchNormNd(int64_t n, const BatchNormOptions& o, const char* name)
    : num_features(n), eps(o.eps), momentum(o.momentum), affine(o.affine), track_running_stats(o.track_running_stats) {
  FULGUR_CHECK(n >= 0, name, "num_features must be non-negative, got ", n);
  FULGUR_CHECK(is_floating(o.dtype), name, "parameters must be floating point, got dtype ", o.dtype);
  const TensorOptions f{.dtype = o.dtype, .device = o.device};
  weight = register_parameter("weight", affine ? empty({n}, f) : Tensor());
  bias = register_parameter("bias", affine ? empty({n}, f) : Tensor());
  running_mean = register_buffer("running_mean", track_running_stats ? zeros({n}, f) : Tensor());
  running_var = register_buffer("running_var", track_running_stats ? ones({n}, f) : Tensor());
  num_batches_tracked = register_buffer(
      "num_batches_tracked", track_running_stats ? zeros({}, {.dtype = DType::Int64, .device = o.device}) : Tensor());
  reset_parameters();
}

void BatchNormNd::reset_running_stats() {
  if (!track_running_stats) return;
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

void BatchNormNd::reset_parameters() {
  reset_running_stats();
  if (affine) {
    init::ones_(weight);
    init::zeros_(bias);
  }
}

Tensor BatchNormNd::forward(const Tensor& x) {
  check_input_dim(x);
  double factor = momentum ? *momentum : 0.0;
  if (is_training() && track_running_stats && num_batches_tracked.defined()) {
    {
      NoGradGuard no_grad;
      num_batches_tracked.add_(1);
    }
    if (!momentum) factor = 1.0 / num_batches_tracked.item<double>();
  }
  const bool use_batch_stats = is_training() || (!running_mean.defined() && !running_var.defined());
  const bool pass_running = !is_training() || track_running_stats;
  return functional::batch_norm(x, pass_running ? running_mean : Tensor(), pass_running ? running_var : Tensor(),
                                weight, bias, use_batch_stats, factor, eps);
}

std::string BatchNormNd::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + repr_float(eps) +
         ", momentum=" + (momentum ? repr_float(*momentum) : std::string("None")) + ", affine=" + repr_bool(affine) +
         ", track_running_stats=" + repr_bool(track_running_stats);
}

void BatchNorm1d::check_input_dim(const Tensor& x) const {
  FULGUR_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d", "expected 2D or 3D input (got ", x.dim(), "D input)");
}
void BatchNorm2d::check_input_dim(const Tensor& x) const {
  FULGUR_CHECK(x.dim() == 4, "BatchNorm2d", "expected 4D input (got ", x.dim(), "D input)");
}
void BatchNorm3d::check_input_dim(const Tensor& x) const {
  FULGUR_CHECK(x.dim() == 5, "BatchNorm3d", "expected 5D input (got ", x.dim(), "D input)");
}

}  // namespace fulgur::nn
