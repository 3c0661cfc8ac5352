// The float/double tensor GEMM built for the GPU (see tensor_gemm.cuh).
#include "kernels/cuda/tensor_gemm.cuh"
