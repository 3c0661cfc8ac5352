// The mixed-precision kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/amp.cuh"
