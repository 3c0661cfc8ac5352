// The LayerNorm kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/layer_norm.cuh"
