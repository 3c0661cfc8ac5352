// Device-side Philox stream (see philox_kernel.cu). Only present in CUDA builds.
#pragma once

#include <cstdint>
#include <string>

namespace fulgur::cuda {

// Writes n Philox blocks (4 words each) for counters offset..offset+n-1 into host_out
// (4*n words). Returns "" on success, else the CUDA error string.
std::string philox_blocks(uint64_t seed, uint64_t offset, int64_t n, uint32_t* host_out);

}  // namespace fulgur::cuda
