// Philox4x32-10 on the device: thread i writes block (offset + i) under key `seed`, the
// exact mapping the CPU backend uses (kernels/philox.h is shared), so tests/gpu can check
// that a seed gives the same random stream on both. Grid-stride loop, one block per thread.
#include <cstdint>

#include "fulgur/kernels/cuda/philox_kernel.h"
#include "fulgur/kernels/philox.h"

namespace fulgur::cuda {
namespace {

__global__ void philox_blocks_kernel(uint64_t seed, uint64_t offset, int64_t n, uint4* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const PhiloxBlock b = philox4x32_10(seed, offset + static_cast<uint64_t>(i));
    out[i] = make_uint4(b.v[0], b.v[1], b.v[2], b.v[3]);
  }
}

}  // namespace

std::string philox_blocks(uint64_t seed, uint64_t offset, int64_t n, uint32_t* host_out) {
  uint4* device = nullptr;
  const size_t bytes = static_cast<size_t>(n) * sizeof(uint4);
  cudaError_t err = cudaMalloc(&device, bytes);
  if (err != cudaSuccess) return cudaGetErrorString(err);
  const int threads = 256;
  const int blocks = static_cast<int>((n + threads - 1) / threads < 4096 ? (n + threads - 1) / threads : 4096);
  philox_blocks_kernel<<<blocks > 0 ? blocks : 1, threads>>>(seed, offset, n, device);
  err = cudaGetLastError();
  if (err == cudaSuccess) err = cudaMemcpy(host_out, device, bytes, cudaMemcpyDeviceToHost);
  cudaFree(device);
  return err == cudaSuccess ? "" : cudaGetErrorString(err);
}

}  // namespace fulgur::cuda
