// The binary kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/binary.cuh"
