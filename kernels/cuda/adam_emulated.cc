// The fused Adam kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/adam.cuh"
