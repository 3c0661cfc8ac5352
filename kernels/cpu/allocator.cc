// Host memory: 64-byte aligned (a cache line, and the widest AVX-512 load) so that
// vectorised kernels and Eigen never straddle lines at the start of a tensor.
#include <cstdlib>
#include <new>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/error.h"

namespace fulgur::kernels::cpu {
namespace {

class AlignedHostAllocator final : public Allocator {
 protected:
  void* raw_allocate(size_t nbytes, Device) override {
    constexpr size_t kAlign = 64;
    const size_t rounded = (std::max<size_t>(nbytes, 1) + kAlign - 1) / kAlign * kAlign;
    void* ptr = std::aligned_alloc(kAlign, rounded);
    FULGUR_CHECK(ptr != nullptr, "allocate", "out of host memory: cannot allocate ", nbytes,
                 " bytes; hint: reduce the batch size or tensor sizes");
    return ptr;
  }
  void raw_deallocate(void* ptr, size_t, Device) override { std::free(ptr); }
};

}  // namespace

Allocator& host_allocator() {
  static AlignedHostAllocator allocator;
  return allocator;
}

}  // namespace fulgur::kernels::cpu
