// The Hopper launch of the tensor-core GEMM (gemm_wgmma.cuh), called by gemm<E> when
// choose_gemm_kernel (gemm_kernel_choice.h) picks wgmma. Internal to kernels/cuda.
#pragma once

#include <string>

#include "fulgur/kernels/cuda/exec.h"
#include "fulgur/kernels/cuda/gemm.h"

namespace fulgur::cuda {

// Whether this process can run the wgmma kernel on the current device: the loaded image is
// the sm_90a code and the driver's TMA encoder was found (else why, in *why). Cached. GPU
// builds only (the emulator always can).
bool wgmma_kernel_loaded(std::string* why);

// Runs `args` (leading dimensions filled in, already validated by gemm) on the wgmma kernel,
// on the current device and `stream` (Exec::Gpu) or on the SIMT emulator. Returns false, with
// the reason in *why and nothing launched, when the kernel cannot run here or TMA cannot
// describe an operand; the caller then runs mma.sync.
template <Exec E>
bool gemm_wgmma(const GemmArgs& args, void* stream, std::string* why);
template <>
bool gemm_wgmma<Exec::Gpu>(const GemmArgs& args, void* stream, std::string* why);
template <>
bool gemm_wgmma<Exec::Emulated>(const GemmArgs& args, void* stream, std::string* why);

}  // namespace fulgur::cuda
