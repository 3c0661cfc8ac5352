#include "fulgur/kernels/cuda/cudnn_library.h"

#if FULGUR_WITH_CUDNN
#include <mutex>

#include "fulgur/kernels/cuda/loaded_library.h"
#include "fulgur/kernels/error.h"
#endif

namespace fulgur::cuda {

#if FULGUR_WITH_CUDNN
namespace {

#define FULGUR_STR2(x) #x
#define FULGUR_STR(x) FULGUR_STR2(x)
constexpr const char* kLibrary = "libcudnn.so." FULGUR_STR(CUDNN_MAJOR);

DeviceHandles<cudnnHandle_t> g_handles;
std::mutex g_use;  // a handle is not for concurrent use

// The device's handle (the library loaded), or null with the reason in *why.
cudnnHandle_t handle_of(int device, std::string* why) {
  const CudnnApi& a = cudnn_api();
  return g_handles.get(device, a.error, [&](cudnnHandle_t* h) -> std::string {
    const cudnnStatus_t s = a.create(h);
    return s == CUDNN_STATUS_SUCCESS ? "" : std::string("cudnnCreate failed: ") + a.error_string(s);
  }, why);
}

}  // namespace

const CudnnApi& cudnn_api() {
  static const CudnnApi loaded = [] {
    CudnnApi a;
    LoadedLibrary lib(kLibrary);
    lib.bind(a.create, "cudnnCreate");
    lib.bind(a.error_string, "cudnnGetErrorString");
    lib.bind(a.version, "cudnnGetVersion");
    lib.bind(a.set_stream, "cudnnSetStream");
    lib.bind(a.tensor_create, "cudnnCreateTensorDescriptor");
    lib.bind(a.tensor_destroy, "cudnnDestroyTensorDescriptor");
    lib.bind(a.tensor_set, "cudnnSetTensorNdDescriptor");
    lib.bind(a.filter_create, "cudnnCreateFilterDescriptor");
    lib.bind(a.filter_destroy, "cudnnDestroyFilterDescriptor");
    lib.bind(a.filter_set, "cudnnSetFilterNdDescriptor");
    lib.bind(a.conv_create, "cudnnCreateConvolutionDescriptor");
    lib.bind(a.conv_destroy, "cudnnDestroyConvolutionDescriptor");
    lib.bind(a.conv_set, "cudnnSetConvolutionNdDescriptor");
    lib.bind(a.conv_set_groups, "cudnnSetConvolutionGroupCount");
    lib.bind(a.conv_set_math, "cudnnSetConvolutionMathType");
    lib.bind(a.forward_heuristic, "cudnnGetConvolutionForwardAlgorithm_v7");
    lib.bind(a.data_heuristic, "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    lib.bind(a.filter_heuristic, "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
    lib.bind(a.forward_find, "cudnnFindConvolutionForwardAlgorithmEx");
    lib.bind(a.data_find, "cudnnFindConvolutionBackwardDataAlgorithmEx");
    lib.bind(a.filter_find, "cudnnFindConvolutionBackwardFilterAlgorithmEx");
    lib.bind(a.forward_workspace, "cudnnGetConvolutionForwardWorkspaceSize");
    lib.bind(a.data_workspace, "cudnnGetConvolutionBackwardDataWorkspaceSize");
    lib.bind(a.filter_workspace, "cudnnGetConvolutionBackwardFilterWorkspaceSize");
    lib.bind(a.forward, "cudnnConvolutionForward");
    lib.bind(a.backward_data, "cudnnConvolutionBackwardData");
    lib.bind(a.backward_filter, "cudnnConvolutionBackwardFilter");
    lib.bind(a.bn_forward_training, "cudnnBatchNormalizationForwardTraining");
    lib.bind(a.bn_backward, "cudnnBatchNormalizationBackward");
    // A library of another major version has other structs behind the same names.
    if (lib.error().empty() && a.version() / 10000 != CUDNN_MAJOR) {
      lib.fail(std::string(kLibrary) + " reports version " + std::to_string(a.version()) + ", built against " +
               std::to_string(CUDNN_VERSION));
    }
    a.error = lib.error();
    return a;  // the library stays loaded for the process
  }();
  return loaded;
}

void cudnn_check(cudnnStatus_t s, const char* op, const char* call, const std::string& context) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  FULGUR_FAIL(op, call, " failed: ", cudnn_api().error_string(s), " (status ", static_cast<int>(s), ")",
              context.empty() ? "" : "; ", context,
              "; hint: fulgur::set_cudnn_enabled(false) runs this op on Fulgur's own kernels");
}

bool cudnn_ready(int device, std::string* why) { return handle_of(device, why) != nullptr; }

bool cudnn_takes_dtype(DType dtype, int device) {
  switch (dtype) {
    case DType::Float32: case DType::Float64: case DType::Float16: return true;
    case DType::BFloat16: {
      int major = 0;
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
      return major >= 8;
    }
    default: return false;
  }
}

void with_cudnn_handle(int device, void* stream, const char* op, const std::function<void(cudnnHandle_t)>& fn) {
  std::string why;
  const cudnnHandle_t h = handle_of(device, &why);
  FULGUR_CHECK(h != nullptr, op, "cuDNN is unavailable on device ", device, ": ", why,
               "; hint: fulgur::set_cudnn_enabled(false)");
  std::lock_guard<std::mutex> lock(g_use);
  cudnn_check(cudnn_api().set_stream(h, static_cast<cudaStream_t>(stream)), op, "cudnnSetStream");
  fn(h);
}

void set_contiguous_desc(CudnnTensorDesc& desc, cudnnDataType_t type, const int* dims, int nd, const char* op) {
  const CudnnApi& a = cudnn_api();
  int strides[8];
  int step = 1;
  for (int d = nd - 1; d >= 0; --d) {
    strides[d] = step;
    step *= dims[d];
  }
  cudnn_check(a.tensor_create(&desc.value), op, "cudnnCreateTensorDescriptor");
  cudnn_check(a.tensor_set(desc.value, type, nd, dims, strides), op, "cudnnSetTensorNdDescriptor");
}

#else  // no CUDA toolkit or no cuDNN headers: nothing to load

bool cudnn_ready(int, std::string* why) {
  if (why) *why = "built without cuDNN";
  return false;
}
bool cudnn_takes_dtype(DType, int) { return false; }
#endif

}  // namespace fulgur::cuda
