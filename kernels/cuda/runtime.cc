#include "fulgur/kernels/cuda/runtime.h"

#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace fulgur::cuda {
namespace {

struct Probe {
  int count = 0;
  std::string reason;
};

// Asked once: the answer cannot change within a process.
const Probe& probe() {
  static const Probe result = [] {
    Probe p;
#if FULGUR_WITH_CUDA
    const cudaError_t err = cudaGetDeviceCount(&p.count);
    if (err != cudaSuccess) {
      p.count = 0;
      p.reason = std::string(cudaGetErrorString(err)) + " (" + cudaGetErrorName(err) + ")";
      cudaGetLastError();  // clear the sticky error for later callers
    } else if (p.count == 0) {
      p.reason = "no CUDA device found";
    }
#else
    p.reason = "built without CUDA (no toolkit at configure time, or --config=cpu_only)";
#endif
    return p;
  }();
  return result;
}

}  // namespace

bool is_available() { return probe().count > 0; }
int device_count() { return probe().count; }
std::string unavailable_reason() { return probe().reason; }
bool compiled_with_cuda() { return FULGUR_WITH_CUDA != 0; }

}  // namespace fulgur::cuda
