// The Hopper launch of the tensor-core GEMM (gemm_wgmma.cu), called by gemm<Exec::Gpu> when
// choose_gemm_kernel (gemm_kernel_choice.h) picks wgmma. Internal to kernels/cuda.
#pragma once

#include <string>

#include "fulgur/kernels/cuda/gemm.h"

namespace fulgur::cuda {

// Whether this process can run the wgmma kernel on the current device: the loaded image is
// the sm_90a code and the driver's TMA encoder was found (else why, in *why). Cached.
bool wgmma_kernel_loaded(std::string* why);

// Runs `args` (leading dimensions filled in, already validated by gemm) on the wgmma kernel,
// on the current device and `stream`. Returns false, with the reason in *why and nothing
// launched, when the driver cannot describe an operand to TMA; the caller then runs mma.sync.
bool gemm_wgmma(const GemmArgs& args, void* stream, std::string* why);

}  // namespace fulgur::cuda
