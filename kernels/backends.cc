#include "fulgur/kernels/backends.h"

#include <mutex>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/error.h"

namespace fulgur::kernels {

void ensure_backends_registered() {
  static std::once_flag once;
  std::call_once(once, [] { cpu::register_cpu_backend(); });
}

const KernelTable& kernels_for_device(Device device, const char* op) {
  ensure_backends_registered();
  const KernelTable& table = kernels_for(device.type);
  FULGUR_CHECK(table.copy != nullptr, op, "no kernels for device ", device,
               "; hint: this build or this machine has no backend for it, use a cpu tensor");
  return table;
}

}  // namespace fulgur::kernels
