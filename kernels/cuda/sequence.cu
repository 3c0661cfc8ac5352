// The sequence kernels built for the GPU (see sequence.cuh).
#include "kernels/cuda/sequence.cuh"
