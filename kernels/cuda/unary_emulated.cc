// The unary kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/unary.cuh"
