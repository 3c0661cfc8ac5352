// Mixed-precision kernels.
// Casts: each thread converts 8 elements per step, two 16-byte float4 loads and one 16-byte
// store of 8 halves (or the reverse), when the pointers are 16-byte aligned; the last n % 8
// elements and misaligned pointers take a scalar loop. Memory-bound: one read, one write.
// Unscale + check: one pass over each gradient multiplies by 1/scale and ORs "not finite"
// into a per-thread flag; a block vote (__syncthreads_or equivalent through shared memory)
// writes found_inf once per block, so the flag costs no extra pass.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/amp.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/multi_tensor.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)

#if FULGUR_SIMT_EMULATED
#include "fulgur/kernels/half.h"
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

using cuda::FloatSpan;
using cuda::HalfFormat;

template <HalfFormat kFormat>
__device__ __forceinline__ uint16_t to_half_bits(float f) {
#if FULGUR_SIMT_EMULATED
  return kFormat == HalfFormat::BFloat16 ? BFloat16(f).bits : Half(f).bits;
#else
  if constexpr (kFormat == HalfFormat::BFloat16) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
  } else {
    return __half_as_ushort(__float2half_rn(f));
  }
#endif
}

template <HalfFormat kFormat>
__device__ __forceinline__ float from_half_bits(uint16_t h) {
#if FULGUR_SIMT_EMULATED
  return kFormat == HalfFormat::BFloat16 ? static_cast<float>(BFloat16::from_bits(h))
                                         : static_cast<float>(Half::from_bits(h));
#else
  if constexpr (kFormat == HalfFormat::BFloat16) {
    return __uint_as_float(static_cast<unsigned>(h) << 16);
  } else {
    return __half2float(__ushort_as_half(h));
  }
#endif
}

__device__ __forceinline__ unsigned pack2(uint16_t lo, uint16_t hi) {
  return static_cast<unsigned>(lo) | (static_cast<unsigned>(hi) << 16);
}

template <HalfFormat kFormat, bool kVec>
__global__ void cast_to_half_kernel(const float* __restrict__ in, uint16_t* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t vec_end = kVec ? n / 8 : 0;
  for (int64_t v = first; v < vec_end; v += stride) {
    const float4 a = reinterpret_cast<const float4*>(in)[2 * v];
    const float4 b = reinterpret_cast<const float4*>(in)[2 * v + 1];
    reinterpret_cast<uint4*>(out)[v] = make_uint4(pack2(to_half_bits<kFormat>(a.x), to_half_bits<kFormat>(a.y)),
                                                  pack2(to_half_bits<kFormat>(a.z), to_half_bits<kFormat>(a.w)),
                                                  pack2(to_half_bits<kFormat>(b.x), to_half_bits<kFormat>(b.y)),
                                                  pack2(to_half_bits<kFormat>(b.z), to_half_bits<kFormat>(b.w)));
  }
  for (int64_t i = vec_end * 8 + first; i < n; i += stride) out[i] = to_half_bits<kFormat>(in[i]);
}

template <HalfFormat kFormat, bool kVec>
__global__ void cast_from_half_kernel(const uint16_t* __restrict__ in, float* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t vec_end = kVec ? n / 8 : 0;
  for (int64_t v = first; v < vec_end; v += stride) {
    const uint4 h = reinterpret_cast<const uint4*>(in)[v];
    const unsigned w[4] = {h.x, h.y, h.z, h.w};
    float f[8];
    FULGUR_UNROLL
    for (int k = 0; k < 4; ++k) {
      f[2 * k] = from_half_bits<kFormat>(static_cast<uint16_t>(w[k] & 0xffffu));
      f[2 * k + 1] = from_half_bits<kFormat>(static_cast<uint16_t>(w[k] >> 16));
    }
    reinterpret_cast<float4*>(out)[2 * v] = make_float4(f[0], f[1], f[2], f[3]);
    reinterpret_cast<float4*>(out)[2 * v + 1] = make_float4(f[4], f[5], f[6], f[7]);
  }
  for (int64_t i = vec_end * 8 + first; i < n; i += stride) out[i] = from_half_bits<kFormat>(in[i]);
}

constexpr int kAmpThreads = 256;

// Threads never synchronise: a thread that saw a non-finite value stores 1 to the flag itself
// (a benign race, every writer stores the same value, as PyTorch's kernel does), so the
// launch is independent (FULGUR_LAUNCH_INDEPENDENT: sequential under the emulator).
__global__ void __launch_bounds__(kAmpThreads) unscale_kernel(TensorListArgs<1> a, float inv_scale, float* found_inf) {
  int bad = 0;
  for (int64_t chunk = blockIdx.x; chunk < a.chunk_begin[a.tensors]; chunk += gridDim.x) {
    const int t = tensor_of_chunk(a, chunk);
    float* g = a.ptr[0][t];
    const int64_t begin = (chunk - a.chunk_begin[t]) * kChunk;
    const int64_t end = begin + kChunk < a.numel[t] ? begin + kChunk : a.numel[t];
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      const float v = g[i];
      bad |= !isfinite(v);
      g[i] = v * inv_scale;
    }
  }
  if (bad) *found_inf = 1.0f;
}

unsigned grid_for(int64_t work_items, int threads) {
  const int64_t blocks = (work_items + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks > 65535 ? 65535 : blocks);
}

void check_length(const char* op, int64_t n) {
  if (n < 0) throw Error(std::string(op) + ": negative length " + std::to_string(n));
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void cast_to_half<FULGUR_EXEC>(const float* in, uint16_t* out, int64_t n, HalfFormat format, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_length("cast_to_half (cuda)", n);
  if (n == 0) return;
  const bool vec = cuda::aligned16(in) && cuda::aligned16(out);
  const dim3 grid(grid_for(vec ? n / 8 + 8 : n, kAmpThreads)), block(kAmpThreads);
  if (format == HalfFormat::BFloat16) {
    if (vec) {
      FULGUR_LAUNCH((cast_to_half_kernel<HalfFormat::BFloat16, true>), grid, block, 0, stream, in, out, n);
    } else {
      FULGUR_LAUNCH((cast_to_half_kernel<HalfFormat::BFloat16, false>), grid, block, 0, stream, in, out, n);
    }
  } else if (vec) {
    FULGUR_LAUNCH((cast_to_half_kernel<HalfFormat::Float16, true>), grid, block, 0, stream, in, out, n);
  } else {
    FULGUR_LAUNCH((cast_to_half_kernel<HalfFormat::Float16, false>), grid, block, 0, stream, in, out, n);
  }
}

template <>
void cast_from_half<FULGUR_EXEC>(const uint16_t* in, float* out, int64_t n, HalfFormat format, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_length("cast_from_half (cuda)", n);
  if (n == 0) return;
  const bool vec = cuda::aligned16(in) && cuda::aligned16(out);
  const dim3 grid(grid_for(vec ? n / 8 + 8 : n, kAmpThreads)), block(kAmpThreads);
  if (format == HalfFormat::BFloat16) {
    if (vec) {
      FULGUR_LAUNCH((cast_from_half_kernel<HalfFormat::BFloat16, true>), grid, block, 0, stream, in, out, n);
    } else {
      FULGUR_LAUNCH((cast_from_half_kernel<HalfFormat::BFloat16, false>), grid, block, 0, stream, in, out, n);
    }
  } else if (vec) {
    FULGUR_LAUNCH((cast_from_half_kernel<HalfFormat::Float16, true>), grid, block, 0, stream, in, out, n);
  } else {
    FULGUR_LAUNCH((cast_from_half_kernel<HalfFormat::Float16, false>), grid, block, 0, stream, in, out, n);
  }
}

template <>
void unscale_and_check_finite<FULGUR_EXEC>(const std::vector<FloatSpan>& grads, float inv_scale, float* found_inf,
                                           void* stream) {
  using namespace FULGUR_KERNEL_NS;
  size_t next = 0;
  while (next < grads.size()) {
    TensorListArgs<1> a;
    a.chunk_begin[0] = 0;
    for (; next < grads.size() && a.tensors < kMaxListTensors; ++next) {
      const FloatSpan& g = grads[next];
      check_length("unscale_and_check_finite (cuda)", g.numel);
      if (g.numel == 0) continue;
      a.ptr[0][a.tensors] = g.data;
      a.numel[a.tensors] = g.numel;
      a.chunk_begin[a.tensors + 1] = a.chunk_begin[a.tensors] + (g.numel + kChunk - 1) / kChunk;
      ++a.tensors;
    }
    if (a.tensors == 0) continue;
    const int64_t chunks = a.chunk_begin[a.tensors];
    const unsigned blocks = chunks > 2048 ? 2048u : static_cast<unsigned>(chunks);
    FULGUR_LAUNCH_INDEPENDENT(unscale_kernel, dim3(blocks), dim3(kAmpThreads), stream, a, inv_scale, found_inf);
  }
}

}  // namespace fulgur::cuda
