#include "fulgur/kernels/cuda/gemm_kernel_choice.h"

#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/matrix_map.h"

namespace fulgur::cuda {

GemmArgs with_leading_dimensions(const GemmArgs& args) {
  GemmArgs g = args;
  if (g.lda == 0) g.lda = g.trans_a ? g.m : g.k;
  if (g.ldb == 0) g.ldb = g.trans_b ? g.k : g.n;
  if (g.ldd == 0) g.ldd = g.n;
  if (g.ld_residual == 0) g.ld_residual = g.n;
  return g;
}

GemmKernelChoice choose_gemm_kernel(const GemmArgs& args, int compute_capability) {
  if (args.kernel == GemmKernel::MmaSync) return {GemmKernel::MmaSync, "mma.sync: asked for"};
  const char* asked = args.kernel == GemmKernel::Auto ? "the default" : "asked for";
  if (compute_capability != 90) {
    return {GemmKernel::MmaSync, "mma.sync: wgmma's sm_90a code runs on compute capability 9.0 only, this device is " +
                                     std::to_string(compute_capability / 10) + "." + std::to_string(compute_capability % 10)};
  }
  const GemmArgs g = with_leading_dimensions(args);
  if (g.k == 0) return {GemmKernel::MmaSync, "mma.sync: K = 0 (TMA describes no empty matrix)"};
  if (!tma_addressable(g.a, g.lda, g.stride_a, g.batch)) {
    return {GemmKernel::MmaSync, "mma.sync: A is not 16-byte aligned, or lda / stride_a is not a multiple of 8 elements"};
  }
  if (!tma_addressable(g.b, g.ldb, g.stride_b, g.batch)) {
    return {GemmKernel::MmaSync, "mma.sync: B is not 16-byte aligned, or ldb / stride_b is not a multiple of 8 elements"};
  }
  // Its grid has a block per tile of every batch at most (GemmGrid::PerTile), in pairs.
  const int64_t tiles = ((g.m + 127) / 128 + 1) * ((g.n + 127) / 128);
  if (tiles > (int64_t{1} << 30) / (g.batch > 1 ? g.batch : 1)) {
    return {GemmKernel::MmaSync, "mma.sync: too many tiles for one grid"};
  }
  return {GemmKernel::Wgmma, std::string("wgmma: ") + asked + ", on sm_90, operands TMA can read"};
}

}  // namespace fulgur::cuda
