// cuDNN 9, loaded with dlopen on first use (loaded_library.h): the entry points Fulgur calls,
// one handle per device, status checks and descriptor ownership, shared by the convolution
// (cudnn_conv.h) and batch-norm (cudnn_batch_norm.h) paths. Without a CUDA toolkit only
// cudnn_ready exists, and says so.
#pragma once

#include <functional>
#include <string>

#include "fulgur/kernels/dtype.h"

// cuDNN is optional inside a CUDA toolkit: without its headers the cuDNN paths are absent
// (cudnn_ready says so) and everything else builds.
#if FULGUR_WITH_CUDA && __has_include(<cudnn.h>)
#define FULGUR_WITH_CUDNN 1
#include <cudnn.h>
#else
#define FULGUR_WITH_CUDNN 0
#endif

namespace fulgur::cuda {

// Whether cuDNN can run on `device` (the first call loads the library and creates the
// device's handle); why not in *why otherwise.
bool cudnn_ready(int device, std::string* why);

// Whether cuDNN's kernels take this data type on `device`: float32, float64, float16, and
// bfloat16 from compute capability 8.0.
bool cudnn_takes_dtype(DType dtype, int device);

#if FULGUR_WITH_CUDNN
// The entry points, typed from the headers, so that a changed signature is a compile error.
struct CudnnApi {
  decltype(&cudnnCreate) create = nullptr;
  decltype(&cudnnGetErrorString) error_string = nullptr;
  decltype(&cudnnGetVersion) version = nullptr;
  decltype(&cudnnSetStream) set_stream = nullptr;
  decltype(&cudnnCreateTensorDescriptor) tensor_create = nullptr;
  decltype(&cudnnDestroyTensorDescriptor) tensor_destroy = nullptr;
  decltype(&cudnnSetTensorNdDescriptor) tensor_set = nullptr;
  decltype(&cudnnCreateFilterDescriptor) filter_create = nullptr;
  decltype(&cudnnDestroyFilterDescriptor) filter_destroy = nullptr;
  decltype(&cudnnSetFilterNdDescriptor) filter_set = nullptr;
  decltype(&cudnnCreateConvolutionDescriptor) conv_create = nullptr;
  decltype(&cudnnDestroyConvolutionDescriptor) conv_destroy = nullptr;
  decltype(&cudnnSetConvolutionNdDescriptor) conv_set = nullptr;
  decltype(&cudnnSetConvolutionGroupCount) conv_set_groups = nullptr;
  decltype(&cudnnSetConvolutionMathType) conv_set_math = nullptr;
  decltype(&cudnnGetConvolutionForwardAlgorithm_v7) forward_heuristic = nullptr;
  decltype(&cudnnGetConvolutionBackwardDataAlgorithm_v7) data_heuristic = nullptr;
  decltype(&cudnnGetConvolutionBackwardFilterAlgorithm_v7) filter_heuristic = nullptr;
  decltype(&cudnnFindConvolutionForwardAlgorithmEx) forward_find = nullptr;
  decltype(&cudnnFindConvolutionBackwardDataAlgorithmEx) data_find = nullptr;
  decltype(&cudnnFindConvolutionBackwardFilterAlgorithmEx) filter_find = nullptr;
  decltype(&cudnnGetConvolutionForwardWorkspaceSize) forward_workspace = nullptr;
  decltype(&cudnnGetConvolutionBackwardDataWorkspaceSize) data_workspace = nullptr;
  decltype(&cudnnGetConvolutionBackwardFilterWorkspaceSize) filter_workspace = nullptr;
  decltype(&cudnnConvolutionForward) forward = nullptr;
  decltype(&cudnnConvolutionBackwardData) backward_data = nullptr;
  decltype(&cudnnConvolutionBackwardFilter) backward_filter = nullptr;
  decltype(&cudnnBatchNormalizationForwardTraining) bn_forward_training = nullptr;
  decltype(&cudnnBatchNormalizationBackward) bn_backward = nullptr;
  std::string error;  // why the library is unusable; "" when loaded
};
const CudnnApi& cudnn_api();

// Throws fulgur::Error for op when s is not success: the call, cuDNN's message, `context`,
// and the hint of turning cuDNN off.
void cudnn_check(cudnnStatus_t s, const char* op, const char* call, const std::string& context = "");

// Runs fn(handle) with `device`'s handle (cudnn_ready first) bound to `stream`, holding the
// lock that serialises the handles' users (a handle is not for concurrent use).
void with_cudnn_handle(int device, void* stream, const char* op, const std::function<void(cudnnHandle_t)>& fn);

// A descriptor destroyed with its owner.
template <typename T, auto Destroy>
struct CudnnOwned {
  T value = nullptr;
  CudnnOwned() = default;
  CudnnOwned(const CudnnOwned&) = delete;
  CudnnOwned& operator=(const CudnnOwned&) = delete;
  ~CudnnOwned() {
    if (value != nullptr) (cudnn_api().*Destroy)(value);
  }
};
using CudnnTensorDesc = CudnnOwned<cudnnTensorDescriptor_t, &CudnnApi::tensor_destroy>;

// A contiguous (row-major) tensor descriptor of `nd` dims (4 or 5 for cuDNN's kernels).
void set_contiguous_desc(CudnnTensorDesc& desc, cudnnDataType_t type, const int* dims, int nd, const char* op);
#endif

}  // namespace fulgur::cuda
