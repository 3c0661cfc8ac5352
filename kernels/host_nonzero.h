// The kernel table's nonzero contract on a host bool buffer: how many elements are true, and
// their positions into `out` unless it is null (tensor/ counts first, then fills). The CPU
// backend's entry, and the CUDA backend's once the mask is on the host.
#pragma once

#include <cstdint>

namespace fulgur::kernels {

inline int64_t host_nonzero(const bool* mask, int64_t n, int64_t* out) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!mask[i]) continue;
    if (out) out[count] = i;
    ++count;
  }
  return count;
}

}  // namespace fulgur::kernels
