// The index kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/index.cuh"
