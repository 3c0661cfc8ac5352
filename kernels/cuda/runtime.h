// CUDA device discovery. "No driver" and "no device" are normal answers (this project is
// built and tested on machines with a toolkit and no GPU): every query returns a value
// instead of throwing. In a build without a toolkit, nothing is available.
#pragma once

#include <string>

namespace fulgur::cuda {

// Whether at least one usable CUDA device exists.
bool is_available();
int device_count();
// Why no device is usable ("" when one is): e.g. "CUDA driver is not installed or too old
// (cudaErrorInsufficientDriver)" or "built without CUDA".
std::string unavailable_reason();
// Whether this build compiled CUDA code (a toolkit was found at configure time).
bool compiled_with_cuda();

}  // namespace fulgur::cuda
