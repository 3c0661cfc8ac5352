// The dropout kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/dropout.cuh"
