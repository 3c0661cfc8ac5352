// The embedding kernels built for the GPU (see embedding.cuh).
#include "kernels/cuda/embedding.cuh"
