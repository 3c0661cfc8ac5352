// The unfused baseline's second kernel in bench/gpu_gemm.cc: y = gelu(y + bias[col]) in place
// on a row-major m x n bf16 matrix (the erf GELU, as the fused GEMM epilogue computes it).
// CUDA builds only (FULGUR_WITH_CUDA).
#pragma once

#include <cstdint>

namespace fulgur::bench {

void bias_gelu_bf16(void* y, const float* bias, int64_t m, int64_t n, void* stream);

}  // namespace fulgur::bench
