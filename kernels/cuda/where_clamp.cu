// The where and clamp kernels built for the GPU (see where_clamp.cuh).
#include "kernels/cuda/where_clamp.cuh"
