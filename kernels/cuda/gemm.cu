// The GPU build of the tensor-core GEMM (gemm<Exec::Gpu>); the kernels are in gemm.cuh.
// (.cuh files are textual headers, reached by their path in the repository, not fulgur/.)
#include "kernels/cuda/gemm.cuh"
