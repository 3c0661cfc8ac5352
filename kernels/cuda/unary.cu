// The unary kernels built for the GPU (see unary.cuh).
#include "kernels/cuda/unary.cuh"
