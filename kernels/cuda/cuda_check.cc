#include "fulgur/kernels/cuda/cuda_check.h"

#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"

namespace fulgur::cuda {

void cuda_check(int cuda_error, const char* call, const std::string& context) {
  if (cuda_error == 0) return;
#if FULGUR_WITH_CUDA
  const auto err = static_cast<cudaError_t>(cuda_error);
  std::string message = std::string(call) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
#else
  std::string message = std::string(call) + ": CUDA error " + std::to_string(cuda_error);
#endif
  if (!context.empty()) message += "; " + context;
  throw Error(message);
}

void require_device(int device, const char* op) {
  if (!is_available()) {
    FULGUR_FAIL(op, "no usable CUDA device (", unavailable_reason(),
                "); hint: check fulgur::cuda::is_available() before using the CUDA backend");
  }
  FULGUR_CHECK(device >= 0 && device < device_count(), op, "device ", device, " does not exist: this machine has ",
               device_count(), " CUDA device(s), numbered from 0");
}

}  // namespace fulgur::cuda
