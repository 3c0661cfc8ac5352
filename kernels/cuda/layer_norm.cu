// The LayerNorm kernels built for the GPU (see layer_norm.cuh).
#include "kernels/cuda/layer_norm.cuh"
