// Random fills (kernel_args.h: RandomArgs) from Philox4x32-10, the mapping of
// kernels/cpu/random.cc: element i draws block (offset + i) under key seed (kernels/philox.h,
// shared with the CPU), so a seed and offset give the CPU's values: bit for bit for uniform,
// randint, bernoulli and raw bits; normal goes through log and cos in double, which CUDA's
// libdevice rounds within 1 ulp of glibc (the emulator uses glibc: exact). A grid-stride
// loop, one Philox block per element, nothing shared between threads.
#pragma once

#include <cmath>
#include <cstdint>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/philox.h"
#include "kernels/cuda/dtypes.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/elementwise_loop.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

// High 64 bits of a 64 x 64-bit product (randint's multiply-shift, as the CPU's __int128).
__device__ __forceinline__ uint64_t mul_high64(uint64_t a, uint64_t b) {
#if FULGUR_SIMT_EMULATED
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#else
  return __umul64hi(a, b);
#endif
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads) random_kernel(kernels::RandomArgs a, const T* probs) {
  T* out = reinterpret_cast<T*>(a.out);
  constexpr bool kDouble = std::is_same_v<T, double>;
  FULGUR_GRID_STRIDE_LOOP(i, a.numel) {
    const PhiloxBlock r = philox4x32_10(a.seed, a.offset + static_cast<uint64_t>(i));
    switch (a.kind) {
      case kernels::RandomKind::Uniform: {
        const double u = kDouble ? uniform_double(r.v[0], r.v[1]) : uniform_float(r.v[0]);
        double v = a.a + (a.b - a.a) * u;
        if (!kDouble && v >= a.b) v = a.a;  // float rounding must not reach b
        out[i] = convert<T>(v);
        break;
      }
      case kernels::RandomKind::Normal: {
        const double u1 = 1.0 - (kDouble ? uniform_double(r.v[0], r.v[1]) : uniform_float(r.v[0]));
        const double u2 = kDouble ? uniform_double(r.v[2], r.v[3]) : uniform_float(r.v[2]);
        const double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
        out[i] = convert<T>(a.a + a.b * z);
        break;
      }
      case kernels::RandomKind::RandInt: {
        const uint64_t range = static_cast<uint64_t>(a.b_int) - static_cast<uint64_t>(a.a_int);
        const uint64_t bits = static_cast<uint64_t>(r.v[0]) << 32 | r.v[1];
        out[i] = convert<T>(static_cast<int64_t>(static_cast<uint64_t>(a.a_int) + mul_high64(bits, range)));
        break;
      }
      case kernels::RandomKind::Bernoulli: {
        double p = a.a;
        if (probs) p = static_cast<double>(to_opmath(probs[i]));
        out[i] = convert<T>(uniform_double(r.v[0], r.v[1]) < p ? 1.0 : 0.0);
        break;
      }
      case kernels::RandomKind::Bits64: {
        const uint64_t bits = static_cast<uint64_t>(r.v[0]) << 32 | r.v[1];
        out[i] = convert<T>(static_cast<int64_t>(bits >> 1));
        break;
      }
    }
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_random<FULGUR_EXEC>(const kernels::RandomArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  if (args.numel <= 0) return;
  visit_device_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((random_kernel<T>), elementwise_grid(args.numel), dim3(kElementwiseThreads), stream, args,
                  reinterpret_cast<const T*>(args.probs));
  });
}

}  // namespace fulgur::cuda
