// The cross-entropy kernels built for the GPU (see cross_entropy.cuh).
#include "kernels/cuda/cross_entropy.cuh"
