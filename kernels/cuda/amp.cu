// The mixed-precision kernels built for the GPU (see amp.cuh).
#include "kernels/cuda/amp.cuh"
