// The cross-entropy kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/cross_entropy.cuh"
