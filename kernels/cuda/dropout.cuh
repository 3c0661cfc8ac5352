// Dropout: one thread per element draws its own Philox block (offset + i), so the mask depends
// only on (seed, offset, i) -- the CPU and the GPU give the same mask -- and no random state
// lives on the device. The scale 1 / (1 - p) is the float the CPU computes. Fused: draw,
// compare, scale and the mask byte in one pass.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/dropout.h"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/philox.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

__global__ void dropout_forward_kernel(const float* __restrict__ x, float* __restrict__ y, uint8_t* __restrict__ mask,
                                       int64_t n, double keep_prob, float scale, uint64_t seed, uint64_t offset) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const PhiloxBlock r = philox4x32_10(seed, offset + static_cast<uint64_t>(i));
    const bool keep = uniform_double(r.v[0], r.v[1]) < keep_prob;
    y[i] = x[i] * (keep ? scale : 0.0f);
    mask[i] = keep ? 1 : 0;
  }
}

__global__ void dropout_backward_kernel(const float* __restrict__ dy, const uint8_t* __restrict__ mask,
                                        float* __restrict__ dx, int64_t n, float scale) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    dx[i] = dy[i] * (mask[i] ? scale : 0.0f);
  }
}

unsigned elementwise_grid(int64_t n) {
  const int64_t blocks = (n + 255) / 256;
  return static_cast<unsigned>(blocks > 8192 ? 8192 : blocks < 1 ? 1 : blocks);
}

void check_p(const char* op, double p, int64_t n) {
  if (!(p >= 0.0 && p <= 1.0)) throw Error(std::string(op) + ": dropout probability " + std::to_string(p) + " not in [0, 1]");
  if (n < 0) throw Error(std::string(op) + ": negative length " + std::to_string(n));
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void dropout_forward<FULGUR_EXEC>(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed,
                                  uint64_t offset, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_p("dropout (cuda)", p, n);
  if (n == 0) return;
  // p == 1: keep_prob 0 never keeps; the scale is unused (and would be inf).
  const float scale = p == 1.0 ? 0.0f : 1.0f / static_cast<float>(1.0 - p);
  FULGUR_LAUNCH(dropout_forward_kernel, dim3(elementwise_grid(n)), dim3(256), 0, stream, x, y, mask, n, 1.0 - p, scale,
                seed, offset);
}

template <>
void dropout_backward<FULGUR_EXEC>(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_p("dropout backward (cuda)", p, n);
  if (n == 0) return;
  const float scale = p == 1.0 ? 0.0f : 1.0f / static_cast<float>(1.0 - p);
  FULGUR_LAUNCH(dropout_backward_kernel, dim3(elementwise_grid(n)), dim3(256), 0, stream, dy, mask, dx, n, scale);
}

}  // namespace fulgur::cuda
