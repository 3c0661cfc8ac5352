// See gpu_bias_gelu.h. 16-byte accesses (8 bf16) when rows allow it, as a tuned elementwise
// kernel would do, so the unfused baseline is not handicapped by its second pass.
#include <cuda_bf16.h>

#include "fulgur/bench/gpu_bias_gelu.h"

namespace fulgur::bench {
namespace {

__device__ __forceinline__ float gelu(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

__global__ void bias_gelu_vec8(uint4* y, const float* bias, int64_t chunks, int64_t chunks_per_row) {
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < chunks;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t col = (c % chunks_per_row) * 8;
    uint4 v = y[c];
    __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __bfloat1622float2(h[i]);
      h[i] = __floats2bfloat162_rn(gelu(f.x + bias[col + 2 * i]), gelu(f.y + bias[col + 2 * i + 1]));
    }
    y[c] = v;
  }
}

__global__ void bias_gelu_scalar(__nv_bfloat16* y, const float* bias, int64_t total, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    y[i] = __float2bfloat16_rn(gelu(__bfloat162float(y[i]) + bias[i % n]));
  }
}

}  // namespace

void bias_gelu_bf16(void* y, const float* bias, int64_t m, int64_t n, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  const int threads = 256;
  if (n % 8 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0) {
    const int64_t chunks = m * n / 8;
    const int blocks = static_cast<int>(chunks / threads + 1 < 65536 ? chunks / threads + 1 : 65536);
    bias_gelu_vec8<<<blocks, threads, 0, s>>>(static_cast<uint4*>(y), bias, chunks, n / 8);
  } else {
    const int64_t total = m * n;
    const int blocks = static_cast<int>(total / threads + 1 < 65536 ? total / threads + 1 : 65536);
    bias_gelu_scalar<<<blocks, threads, 0, s>>>(static_cast<__nv_bfloat16*>(y), bias, total, n);
  }
}

}  // namespace fulgur::bench
