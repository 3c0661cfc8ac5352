// The softmax kernels built for the GPU (see softmax.cuh).
#include "kernels/cuda/softmax.cuh"
