// The emulated build of the Hopper GEMM (gemm_wgmma<Exec::Emulated>): the kernels of
// gemm_wgmma.cuh compiled by the host compiler against the SIMT emulator and its models of
// mbarriers, TMA and wgmma (simt_hopper.h).
#include "kernels/cuda/gemm_wgmma.cuh"
