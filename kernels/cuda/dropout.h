// Dropout kernels (dropout.cuh) on contiguous float32 data.
// Device pointers for Exec::Gpu, host pointers for Exec::Emulated.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

// y = x * keep / (1 - p), keep_i = uniform_i < 1 - p with uniform_i drawn from Philox block
// (offset + i) under key seed: the same draws, hence the same mask, as the CPU dropout given a
// Generator in the same state (Generator::reserve(n) returns {seed, offset}). mask (n bytes,
// 1 = kept) is written for the backward. p == 1 gives zeros and uses no draws (callers reserve
// none then, as PyTorch).
template <Exec E>
void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset,
                     void* stream);

// dx = dy * mask / (1 - p).
template <Exec E>
void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p, void* stream);

}  // namespace fulgur::cuda
