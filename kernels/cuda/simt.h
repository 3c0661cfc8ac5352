// One kernel source, two compilers. Kernel headers (*.cuh in this folder) include this file
// and are compiled twice: by nvcc into the CUDA library, and by the host compiler against the
// SIMT emulator (simt_emulator.h) so that CI runs the same kernels on a machine without a GPU.
//
// The subset a kernel may use (everything else is plain C++ both compilers accept):
//   threadIdx, blockIdx, blockDim, gridDim, warpSize, __syncthreads(), __syncwarp()
//   FULGUR_SHARED(T, name, [dims])       instead of  __shared__ T name[dims]
//   FULGUR_DYNAMIC_SHARED(T, name)       instead of  extern __shared__ T name[]
//   __shfl_sync / _xor / _down / _up, __ballot_sync, __any_sync, __all_sync: full-warp
//     (every lane of the warp that is still running calls them with the same mask)
//   atomicAdd / atomicMax / atomicMin / atomicCAS / atomicExch on global or shared memory
//   float4 / uint4 / uint2 / float2 vector loads, __float_as_uint & co, fast-math intrinsics
//   FULGUR_LAUNCH(kernel, grid, block, shared_bytes, stream, args...)
//   FULGUR_LAUNCH_INDEPENDENT(kernel, grid, block, stream, args...): a kernel whose threads
//     never synchronise or share memory (grid-stride element-wise loops); the emulator runs its
//     threads one after another on the calling thread (much faster) and traps if one does
//     synchronise; on the GPU it is FULGUR_LAUNCH without shared memory
//   FULGUR_UNROLL                        instead of  #pragma unroll (GCC rejects it)
//   simt_ptx.h for mma.sync / ldmatrix (tensor cores) with emulated fragment layouts;
//   cluster.cuh for thread-block clusters (barriers, distributed shared memory, launch).
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/exec.h"

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#define FULGUR_SIMT_EMULATED 0
#define FULGUR_UNROLL _Pragma("unroll")
#define FULGUR_SHARED(T, name, dims) __shared__ T name dims
#define FULGUR_DYNAMIC_SHARED(T, name)                          \
  extern __shared__ __align__(16) unsigned char fulgur_dynamic_shared_[]; \
  T* name = reinterpret_cast<T*>(fulgur_dynamic_shared_)
#define FULGUR_LAUNCH(kernel, grid, block, shared_bytes, stream, ...) \
  kernel<<<(grid), (block), (shared_bytes), static_cast<cudaStream_t>(stream)>>>(__VA_ARGS__)
#define FULGUR_LAUNCH_INDEPENDENT(kernel, grid, block, stream, ...) \
  kernel<<<(grid), (block), 0, static_cast<cudaStream_t>(stream)>>>(__VA_ARGS__)
// Kernels live in this namespace so that the CUDA build and the emulated build of the same
// source can be linked into one test binary.
#define FULGUR_KERNEL_NS cuda_kernels
#define FULGUR_EXEC ::fulgur::cuda::Exec::Gpu

#else

#include "fulgur/kernels/cuda/simt_emulator.h"

#define FULGUR_SIMT_EMULATED 1
#define FULGUR_UNROLL _Pragma("GCC unroll 32")
#define FULGUR_KERNEL_NS emulated_kernels
#define FULGUR_EXEC ::fulgur::cuda::Exec::Emulated

#endif
