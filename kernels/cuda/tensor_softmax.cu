// The softmax kernels built for the GPU (see tensor_softmax.cuh).
#include "kernels/cuda/tensor_softmax.cuh"
