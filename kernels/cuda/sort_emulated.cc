// The sort kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/sort.cuh"
