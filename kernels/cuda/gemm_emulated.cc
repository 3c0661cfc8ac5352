// The emulated build of the tensor-core GEMM (gemm<Exec::Emulated>): the kernels of gemm.cuh
// compiled by the host compiler against the SIMT emulator. (.cuh files are textual headers,
// reached by their path in the repository, not fulgur/.)
#include "kernels/cuda/gemm.cuh"
