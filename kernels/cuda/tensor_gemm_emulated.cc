// The float/double tensor GEMM built for the SIMT emulator (see simt.h).
#include "kernels/cuda/tensor_gemm.cuh"
