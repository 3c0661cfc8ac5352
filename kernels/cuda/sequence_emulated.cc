// The sequence kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/sequence.cuh"
