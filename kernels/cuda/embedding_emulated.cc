// The embedding kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/embedding.cuh"
