// The GPU build of the Hopper GEMM (gemm_wgmma<Exec::Gpu>): the kernels of gemm_wgmma.cuh
// compiled by nvcc for sm_90a, and the check that the device loaded that code.
#include "kernels/cuda/gemm_wgmma.cuh"

#include <cuda_runtime.h>

#include <string>

// A 9.0 device pass without the architecture-specific features would compile the kernel to a
// trap; only sm_90a (-gencode=arch=compute_90a,code=sm_90a) may build for 9.0.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ == 900 && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "gemm_wgmma.cu needs sm_90a, not sm_90 or compute_90: --//third_party/cuda:archs=sm_90a"
#endif

namespace fulgur::cuda {

bool wgmma_kernel_loaded(std::string* why) {
  using FULGUR_KERNEL_NS::gemm_detail::wgmma::gemm_wgmma_kernel;
  // The image the device loaded must be the sm_90a code: a 9.0 GPU could otherwise run these
  // kernels JIT-compiled from another architecture's PTX, whose bodies trap.
  static const std::string error = [] {
    cudaFuncAttributes attr{};
    const cudaError_t e = cudaFuncGetAttributes(&attr, gemm_wgmma_kernel<128, 1, true, false, false>);
    if (e != cudaSuccess) {
      cudaGetLastError();  // clear it: the caller runs the mma.sync kernel instead
      return std::string("the wgmma kernel has no image for this device (") + cudaGetErrorString(e) +
             "); hint: build with --//third_party/cuda:archs including sm_90a";
    }
    if (attr.binaryVersion != 90 || attr.ptxVersion < 90) {
      return "the wgmma kernel was loaded from sm_" + std::to_string(attr.ptxVersion) +
             " code, not sm_90a; hint: build with --//third_party/cuda:archs including sm_90a";
    }
    return std::string();
  }();
  if (!error.empty()) {
    if (why != nullptr) *why = error;
    return false;
  }
  return tensor_maps_available(why);
}

}  // namespace fulgur::cuda
