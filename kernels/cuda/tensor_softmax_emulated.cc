// The softmax kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/tensor_softmax.cuh"
