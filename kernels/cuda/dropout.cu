// The dropout kernels built for the GPU (see dropout.cuh).
#include "kernels/cuda/dropout.cuh"
