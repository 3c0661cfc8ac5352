// Thread-block clusters (sm_90) in the kernel subset of simt.h: the blocks of a cluster run at
// the same time on one GPC, meet at cluster barriers and read each other's shared memory
// (distributed shared memory). One source, two builds, like every kernel of this folder: PTX on
// the GPU (bodies exist only in passes for sm_90 and later; older passes trap, and launchers
// check cluster_kernel_runs() first), the SIMT emulator's clusters on the CPU.
//
//   cluster_rank(), cluster_blocks()      this block's rank in its cluster, the cluster's size
//   cluster_arrive(), cluster_wait()      the two halves of a barrier over every thread of the
//                                         cluster (release / acquire at cluster scope)
//   cluster_sync()                        both at once
//   cluster_shared(p, rank)               where p (a shared-memory address of this block) is in
//                                         block `rank`: read it there only between two cluster
//                                         barriers, and never after that block may have exited
//   launch_cluster(op, kernel, blocks, grid, block, shared_bytes, stream, args...)
//                                         clusters of `blocks` blocks along x (grid.x a multiple)
//
// Reference: PTX ISA 8.x, "barrier.cluster", "mapa", special registers %cluster_ctarank and
// %cluster_nctarank; CUDA programming guide, "Thread Block Clusters".
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "fulgur/kernels/cuda/per_device.h"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/error.h"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define FULGUR_CLUSTER_PTX 1
#else
#define FULGUR_CLUSTER_PTX 0
#endif

namespace fulgur::FULGUR_KERNEL_NS {

#if FULGUR_SIMT_EMULATED

inline unsigned cluster_rank() { return ::fulgur::simt::cluster_rank(); }
inline unsigned cluster_blocks() { return ::fulgur::simt::cluster_blocks(); }
inline void cluster_arrive() { ::fulgur::simt::cluster_arrive(); }
inline void cluster_wait() { ::fulgur::simt::cluster_wait(); }
template <typename T>
T* cluster_shared(T* local, unsigned rank) {
  return static_cast<T*>(::fulgur::simt::cluster_shared(local, rank));
}

#else

__device__ __forceinline__ unsigned cluster_rank() {
#if FULGUR_CLUSTER_PTX
  unsigned r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
  return r;
#else
  __trap();
  return 0;
#endif
}

__device__ __forceinline__ unsigned cluster_blocks() {
#if FULGUR_CLUSTER_PTX
  unsigned n;
  asm volatile("mov.u32 %0, %%cluster_nctarank;" : "=r"(n));
  return n;
#else
  __trap();
  return 1;
#endif
}

__device__ __forceinline__ void cluster_arrive() {
#if FULGUR_CLUSTER_PTX
  asm volatile("barrier.cluster.arrive.release;" ::: "memory");
#else
  __trap();
#endif
}

__device__ __forceinline__ void cluster_wait() {
#if FULGUR_CLUSTER_PTX
  asm volatile("barrier.cluster.wait.acquire;" ::: "memory");
#else
  __trap();
#endif
}

template <typename T>
__device__ __forceinline__ T* cluster_shared(T* local, unsigned rank) {
#if FULGUR_CLUSTER_PTX
  uint64_t remote;
  asm volatile("mapa.u64 %0, %1, %2;" : "=l"(remote) : "l"(reinterpret_cast<uint64_t>(local)), "r"(rank));
  return reinterpret_cast<T*>(remote);
#else
  (void)rank;
  __trap();
  return local;
#endif
}

#endif

__device__ __forceinline__ void cluster_sync() {
  cluster_arrive();
  cluster_wait();
}

namespace {

// Whether kKernel, launched in clusters, runs here: always on the emulator; on a GPU when the
// device launches clusters and the kernel was compiled for sm_90 or later (not JIT-compiled
// from an older architecture's PTX, where its cluster instructions trap). Asked once per
// kernel and device.
template <auto kKernel>
bool cluster_kernel_runs() {
#if FULGUR_SIMT_EMULATED
  return true;
#else
  static ::fulgur::cuda::detail::PerDevice<bool> runs;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  return runs.get(device, [device] {
    int cluster_launch = 0;
    cudaFuncAttributes attr{};
    return cudaDeviceGetAttribute(&cluster_launch, cudaDevAttrClusterLaunch, device) == cudaSuccess &&
           cluster_launch != 0 && cudaFuncGetAttributes(&attr, kKernel) == cudaSuccess && attr.binaryVersion >= 90;
  });
#endif
}

#if !FULGUR_SIMT_EMULATED
// A launch configuration in clusters of `blocks` blocks along x, for cudaLaunchKernelEx and the
// occupancy queries; `attribute` holds the cluster shape and must outlive the configuration.
// One block needs no attribute (every launch is a cluster of one).
inline cudaLaunchConfig_t cluster_launch_config(dim3 grid, dim3 block, size_t bytes, void* stream, unsigned blocks,
                                                cudaLaunchAttribute* attribute) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = bytes;
  config.stream = static_cast<cudaStream_t>(stream);
  *attribute = cudaLaunchAttribute{};
  attribute->id = cudaLaunchAttributeClusterDimension;
  attribute->val.clusterDim.x = blocks;
  attribute->val.clusterDim.y = 1;
  attribute->val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = blocks > 1 ? 1 : 0;
  return config;
}
#endif

// Launches kernel in clusters of `blocks` blocks along x (grid.x a multiple of it); `op` names
// the launcher in the error a failed launch throws.
template <typename... Params, typename... Args>
void launch_cluster(const char* op, void (*kernel)(Params...), unsigned blocks, dim3 grid, dim3 block, size_t bytes,
                    void* stream, Args&&... args) {
#if FULGUR_SIMT_EMULATED
  (void)op;
  (void)stream;
  ::fulgur::simt::launch_cluster(blocks, grid, block, bytes, kernel, std::forward<Args>(args)...);
#else
  cudaLaunchAttribute cluster;
  const cudaLaunchConfig_t config = cluster_launch_config(grid, block, bytes, stream, blocks, &cluster);
  const cudaError_t err = cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
  if (err != cudaSuccess) {
    throw Error(std::string(op) + ": launch in clusters of " + std::to_string(blocks) + " blocks (grid " +
                std::to_string(grid.x) + " x " + std::to_string(grid.y) + ", " + std::to_string(bytes) +
                " bytes of shared memory each) failed: " + cudaGetErrorString(err) +
                "; hint: clusters need an sm_90 or newer GPU");
  }
#endif
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS
