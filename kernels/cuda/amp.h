// Mixed-precision helper kernels (amp.cuh): fp32 <-> bf16 / fp16 casts with 128-bit vector
// access, and the GradScaler step's fused non-finite check + unscale over many gradients.
// Device pointers for Exec::Gpu, host pointers for Exec::Emulated; 16-bit values are their
// bit patterns (uint16_t). Rounding is to nearest even; NaN stays NaN.
#pragma once

#include <cstdint>
#include <vector>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

enum class HalfFormat { BFloat16, Float16 };

template <Exec E>
void cast_to_half(const float* in, uint16_t* out, int64_t n, HalfFormat format, void* stream);

template <Exec E>
void cast_from_half(const uint16_t* in, float* out, int64_t n, HalfFormat format, void* stream);

struct FloatSpan {
  float* data;
  int64_t numel;
};

// torch._amp_foreach_non_finite_check_and_unscale_: every gradient is multiplied by
// inv_scale in place; *found_inf (a device float) is set to 1.0 if any element is inf or NaN
// (it is never reset here, so one flag can collect several calls).
template <Exec E>
void unscale_and_check_finite(const std::vector<FloatSpan>& grads, float inv_scale, float* found_inf, void* stream);

}  // namespace fulgur::cuda
