// Element types of the tensor kernels on the device, and the value conversions of the CPU
// backend (kernels/cpu/loops.h: convert) written once for nvcc and for the SIMT emulator.
//
// fp16 and bf16 are stored as 16-bit patterns (F16 / BF16) and computed in float, as the CPU
// does (opmath_t). Their conversions are kernels/half.h's algorithms restated on bit patterns
// (round to nearest even, NaN kept quiet with its sign, overflow to inf), so a value gets the
// same bits on the GPU, in the emulator and on the CPU; CUDA's __float2half_rn would round
// the same but canonicalise NaN payloads.
//
// visit_device_dtype() is the host-side dispatch from a DType to these types, as
// visit_dtype() is for the CPU backend.
#pragma once

#include <cstdint>
#include <type_traits>

#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/dtype.h"
#include "fulgur/kernels/error.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

template <typename T>
struct OpMath {
  using type = T;
};
template <>
struct OpMath<F16> {
  using type = float;
};
template <>
struct OpMath<BF16> {
  using type = float;
};
template <typename T>
using opmath = typename OpMath<T>::type;

template <typename T>
inline constexpr bool kFloating = std::is_floating_point_v<T> || std::is_same_v<T, F16> || std::is_same_v<T, BF16>;
template <typename T>
inline constexpr bool kInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

__device__ __forceinline__ uint16_t f16_from_float(float f) {
  const uint32_t x = __float_as_uint(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow
  if (abs < 0x38800000u) {  // subnormal or zero: adding 0.5 aligns the 2^-24 ulp, the FPU rounds
    const float scaled = __uint_as_float(abs) + 0.5f;
    return static_cast<uint16_t>(sign | (__float_as_uint(scaled) - 0x3f000000u));
  }
  const uint32_t mant_odd = (abs >> 13) & 1u;
  return static_cast<uint16_t>(sign | ((abs + 0xc8000fffu + mant_odd) >> 13));
}

__device__ __forceinline__ float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) return __uint_as_float(__float_as_uint(static_cast<float>(mant) * 5.9604644775390625e-8f) | sign);
  if (exp == 31) return __uint_as_float(sign | 0x7f800000u | (mant << 13));
  return __uint_as_float(sign | ((exp + 112u) << 23) | (mant << 13));
}

__device__ __forceinline__ uint16_t bf16_from_float(float f) {
  const uint32_t x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN: keep it quiet
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

__device__ __forceinline__ float bf16_to_float(uint16_t b) { return __uint_as_float(static_cast<uint32_t>(b) << 16); }

// A stored element as its compute type, and back.
template <typename T>
__device__ __forceinline__ opmath<T> to_opmath(T v) {
  if constexpr (std::is_same_v<T, F16>) {
    return f16_to_float(v.bits);
  } else if constexpr (std::is_same_v<T, BF16>) {
    return bf16_to_float(v.bits);
  } else {
    return v;
  }
}

template <typename T>
__device__ __forceinline__ T from_opmath(opmath<T> v) {
  if constexpr (std::is_same_v<T, F16>) {
    return T{f16_from_float(v)};
  } else if constexpr (std::is_same_v<T, BF16>) {
    return T{bf16_from_float(v)};
  } else {
    return static_cast<T>(v);
  }
}

// kernels/cpu/loops.h's convert: defined for every input. Floats through their compute type
// (double -> fp16 rounds to float first, as on the CPU); NaN and out-of-range floats to an
// integer type give its minimum (x86's result), others go through int64 then wrap.
template <typename To, typename From>
__device__ __forceinline__ To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return to_opmath(v) != opmath<From>(0);
  } else if constexpr (kFloating<To>) {
    if constexpr (kFloating<From>) {
      return from_opmath<To>(static_cast<opmath<To>>(to_opmath(v)));
    } else {
      return from_opmath<To>(static_cast<opmath<To>>(v));
    }
  } else if constexpr (kFloating<From>) {
    const double d = static_cast<double>(to_opmath(v));
    if (d > -9.2e18 && d < 9.2e18) return static_cast<To>(static_cast<int64_t>(d));
    if constexpr (!std::is_signed_v<To>) return To(0);
    else if constexpr (sizeof(To) == 8) return static_cast<To>(INT64_MIN);
    else return static_cast<To>(-(int64_t{1} << (sizeof(To) * 8 - 1)));
  } else {
    return static_cast<To>(v);  // integral -> integral: modular
  }
}

template <typename T>
struct DTypeTag {
  using type = T;
};

// Calls fn(DTypeTag<T>{}) with the device type of `dtype` (host code).
template <typename Fn>
void visit_device_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Bool: return fn(DTypeTag<bool>{});
    case DType::UInt8: return fn(DTypeTag<uint8_t>{});
    case DType::Int8: return fn(DTypeTag<int8_t>{});
    case DType::Int16: return fn(DTypeTag<int16_t>{});
    case DType::Int32: return fn(DTypeTag<int32_t>{});
    case DType::Int64: return fn(DTypeTag<int64_t>{});
    case DType::Float16: return fn(DTypeTag<F16>{});
    case DType::BFloat16: return fn(DTypeTag<BF16>{});
    case DType::Float32: return fn(DTypeTag<float>{});
    case DType::Float64: return fn(DTypeTag<double>{});
  }
  FULGUR_FAIL("cuda kernels", "unknown dtype ", static_cast<int>(dtype));
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS
