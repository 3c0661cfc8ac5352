// The fused Adam kernels built for the GPU (see adam.cuh).
#include "kernels/cuda/adam.cuh"
