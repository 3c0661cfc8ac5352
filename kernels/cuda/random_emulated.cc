// The random kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/random.cuh"
