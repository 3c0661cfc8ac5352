// The window kernels built for the SIMT emulator (see simt.h).
#include "kernels/cuda/window.cuh"
