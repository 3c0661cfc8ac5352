// Turns a failed CUDA runtime call into fulgur::Error naming the call, the CUDA error name and
// its description. Toolkit-free header (the error travels as an int) so that host code of every
// build can include it; the definition needs FULGUR_WITH_CUDA.
#pragma once

#include <string>

namespace fulgur::cuda {

// Throws fulgur::Error("<call>: <cudaErrorName> (<description>)[; <context>]") unless
// cuda_error is cudaSuccess (0). `context` says what was being done (sizes, device) and,
// where useful, a hint.
void cuda_check(int cuda_error, const char* call, const std::string& context = "");

// Throws fulgur::Error for an operation that needs a usable device: names `op`, and why no
// device is usable (runtime.h: unavailable_reason()) or the valid device range.
void require_device(int device, const char* op);

}  // namespace fulgur::cuda
