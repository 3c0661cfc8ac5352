// The binary kernels built for the GPU (see binary.cuh).
#include "kernels/cuda/binary.cuh"
