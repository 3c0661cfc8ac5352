// The reduction kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/reduce.cuh"
