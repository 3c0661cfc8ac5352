#include "fulgur/kernels/cuda/loaded_library.h"

#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace fulgur::cuda {

std::string create_on_device(int device, const std::function<std::string()>& create) {
#if FULGUR_WITH_CUDA
  int previous = 0;
  cudaGetDevice(&previous);
  if (cudaSetDevice(device) != cudaSuccess) {
    cudaGetLastError();
    return "cannot select device " + std::to_string(device);
  }
  std::string error = create();
  cudaSetDevice(previous);
  return error;
#else
  (void)device;
  (void)create;
  return "built without CUDA";
#endif
}

}  // namespace fulgur::cuda
