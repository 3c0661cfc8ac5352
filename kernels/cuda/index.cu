// The index kernels built for the GPU (see index.cuh).
#include "kernels/cuda/index.cuh"
