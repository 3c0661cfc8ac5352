// The reduction kernels built for the GPU (see reduce.cuh).
#include "kernels/cuda/reduce.cuh"
