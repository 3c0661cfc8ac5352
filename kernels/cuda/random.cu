// The random kernels built for the GPU (see random.cuh).
#include "kernels/cuda/random.cuh"
