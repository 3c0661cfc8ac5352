// Math functions of the tensor kernels by compute type: float calls the C library's float
// function (expf, ...; the GPU's libdevice under nvcc, glibc in the SIMT emulator, which is
// what the CPU backend calls outside its Eigen-vectorised paths), double the double one.
#pragma once

#include <cmath>
#include <type_traits>

#include "fulgur/kernels/cuda/simt.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

#define FULGUR_DEVICE_MATH1(name)                                              \
  template <typename M>                                                        \
  __device__ __forceinline__ M math_##name(M x) {                              \
    if constexpr (std::is_same_v<M, float>) return name##f(x); else return name(x); \
  }
FULGUR_DEVICE_MATH1(exp)
FULGUR_DEVICE_MATH1(log)
FULGUR_DEVICE_MATH1(log1p)
FULGUR_DEVICE_MATH1(sqrt)
FULGUR_DEVICE_MATH1(sin)
FULGUR_DEVICE_MATH1(cos)
FULGUR_DEVICE_MATH1(tanh)
FULGUR_DEVICE_MATH1(erf)
FULGUR_DEVICE_MATH1(fabs)
#undef FULGUR_DEVICE_MATH1

template <typename M>
__device__ __forceinline__ M math_pow(M x, M y) {
  if constexpr (std::is_same_v<M, float>) return powf(x, y); else return pow(x, y);
}

template <typename M>
__device__ __forceinline__ bool math_isnan(M x) {
  if constexpr (std::is_floating_point_v<M>) return isnan(x); else return false;
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS
