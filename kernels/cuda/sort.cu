// The sort kernels built for the GPU (see sort.cuh).
#include "kernels/cuda/sort.cuh"
