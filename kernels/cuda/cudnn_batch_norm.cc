#include "fulgur/kernels/cuda/cudnn_batch_norm.h"

#include <climits>

#include "fulgur/kernels/error.h"

#if FULGUR_WITH_CUDNN
#include <cuda_runtime.h>

#include "fulgur/kernels/cuda/cuda_check.h"
#endif

namespace fulgur::cuda {

#if FULGUR_WITH_CUDNN
namespace {

constexpr const char* kOp = "batch_norm";

cudnnDataType_t data_type(DType d) {
  switch (d) {
    case DType::Float32: return CUDNN_DATA_FLOAT;
    case DType::Float64: return CUDNN_DATA_DOUBLE;
    case DType::Float16: return CUDNN_DATA_HALF;
    case DType::BFloat16: return CUDNN_DATA_BFLOAT16;
    default: break;
  }
  FULGUR_FAIL(kOp, "internal: cuDNN path got ", d, "; hint: float32, float64, float16 or bfloat16");
}

// x [N, C, S, 1] and the per-channel [1, C, 1, 1] descriptors of one call.
struct Descriptors {
  CudnnTensorDesc x, params;
  explicit Descriptors(const kernels::BatchNormArgs& a) {
    const bool wide = a.dtype == DType::Float64;
    const int xd[4] = {static_cast<int>(a.batch), static_cast<int>(a.channels), static_cast<int>(a.spatial), 1};
    const int pd[4] = {1, static_cast<int>(a.channels), 1, 1};
    set_contiguous_desc(x, data_type(a.dtype), xd, 4, kOp);
    set_contiguous_desc(params, wide ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT, pd, 4, kOp);
  }
};

// The scaling factors cuDNN reads: double for double data, float otherwise.
struct Factors {
  float one_f = 1.0f, zero_f = 0.0f;
  double one_d = 1.0, zero_d = 0.0;
  bool wide;
  explicit Factors(DType d) : wide(d == DType::Float64) {}
  const void* one() const { return wide ? static_cast<const void*>(&one_d) : &one_f; }
  const void* zero() const { return wide ? static_cast<const void*>(&zero_d) : &zero_f; }
};

int current() {
  int device = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice", "batch_norm on cuDNN");
  return device;
}

}  // namespace

bool cudnn_supports_batch_norm(const kernels::BatchNormArgs& a, int device) {
  if (!cudnn_takes_dtype(a.dtype, device)) return false;
  if (a.batch < 1 || a.channels < 1 || a.spatial < 1 || a.eps < CUDNN_BN_MIN_EPSILON) return false;
  // cuDNN's training kernels fail on larger batches (PyTorch keeps the same limit, found in
  // pytorch#32763); those compose.
  if (a.batch > 880801) return false;
  if (a.batch > INT_MAX / a.channels || a.batch * a.channels > INT_MAX / a.spatial) return false;
  return cudnn_ready(device, nullptr);
}

void cudnn_batch_norm_forward(const kernels::BatchNormArgs& a, void* stream) {
  const Descriptors d(a);
  const Factors f(a.dtype);
  with_cudnn_handle(current(), stream, kOp, [&](cudnnHandle_t h) {
    cudnn_check(cudnn_api().bn_forward_training(h, CUDNN_BATCHNORM_SPATIAL, f.one(), f.zero(), d.x.value, a.x,
                                                d.x.value, a.y, d.params.value, a.weight, a.bias, a.momentum,
                                                a.running_mean, a.running_var, a.eps, a.save_mean, a.save_invstd),
                kOp, "cudnnBatchNormalizationForwardTraining");
  });
}

void cudnn_batch_norm_backward(const kernels::BatchNormArgs& a, void* stream) {
  const Descriptors d(a);
  const Factors f(a.dtype);
  with_cudnn_handle(current(), stream, kOp, [&](cudnnHandle_t h) {
    cudnn_check(cudnn_api().bn_backward(h, CUDNN_BATCHNORM_SPATIAL, f.one(), f.zero(), f.one(), f.zero(), d.x.value,
                                        a.x, d.x.value, a.dy, d.x.value, a.dx, d.params.value, a.weight, a.dweight,
                                        a.dbias, a.eps, a.save_mean, a.save_invstd),
                kOp, "cudnnBatchNormalizationBackward");
  });
}

#else  // no CUDA toolkit or no cuDNN headers

bool cudnn_supports_batch_norm(const kernels::BatchNormArgs&, int) { return false; }
void cudnn_batch_norm_forward(const kernels::BatchNormArgs&, void*) { FULGUR_FAIL("batch_norm", "built without cuDNN"); }
void cudnn_batch_norm_backward(const kernels::BatchNormArgs&, void*) {
  FULGUR_FAIL("batch_norm", "built without cuDNN");
}
#endif

}  // namespace fulgur::cuda
