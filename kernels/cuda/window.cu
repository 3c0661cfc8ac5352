// The window kernels built for the GPU (see window.cuh).
#include "kernels/cuda/window.cuh"
