#include "fulgur/kernels/backends.h"

#include <mutex>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/kernels/error.h"

namespace fulgur::kernels {

void ensure_backends_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    cpu::register_cpu_backend();
    // Registers only where a GPU exists or the emulated device is enabled (kernels/cuda/backend.h).
    ::fulgur::cuda::register_cuda_backend();
  });
}

const KernelTable& kernels_for_device(Device device, const char* op) {
  ensure_backends_registered();
  const KernelTable& table = kernels_for(device.type);
  FULGUR_CHECK(table.copy != nullptr, op, "no kernels for device ", device,
               device.is_cuda() ? "; hint: this build or this machine has no CUDA device (for tests "
                                  "without a GPU: FULGUR_CUDA_EMULATION=1, docs/CUDA.md), use a cpu tensor"
                                : "; hint: this build or this machine has no backend for it, use a cpu tensor");
  launch_context() = {op, device};
  return table;
}

}  // namespace fulgur::kernels
