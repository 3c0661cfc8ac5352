// The copy and fill kernels built for the GPU (see copy.cuh).
#include "kernels/cuda/copy.cuh"
