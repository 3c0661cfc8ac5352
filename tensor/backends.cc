#include "fulgur/tensor/backends.h"

#include <mutex>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/error.h"

namespace fulgur {

void ensure_backends_registered() {
  static std::once_flag once;
  std::call_once(once, [] { kernels::cpu::register_cpu_backend(); });
}

const kernels::KernelTable& kernels_for_device(Device device, const char* op) {
  ensure_backends_registered();
  const kernels::KernelTable& table = kernels::kernels_for(device.type);
  FULGUR_CHECK(table.copy != nullptr, op, "no kernels for device ", device,
               "; hint: this build or this machine has no backend for it, use a cpu tensor");
  return table;
}

}  // namespace fulgur
