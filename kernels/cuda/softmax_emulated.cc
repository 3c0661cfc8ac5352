// The softmax kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/softmax.cuh"
