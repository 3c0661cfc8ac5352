// The copy and fill kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/copy.cuh"
