// The where and clamp kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/where_clamp.cuh"
