#include "fulgur/kernels/kernel_table.h"

#include <array>

namespace fulgur::kernels {

namespace {
std::array<KernelTable, kNumDeviceTypes>& tables() {
  static std::array<KernelTable, kNumDeviceTypes> all{};
  return all;
}
}  // namespace

const KernelTable& kernels_for(DeviceType type) { return tables()[static_cast<size_t>(type)]; }

void register_kernels(DeviceType type, const KernelTable& table) {
  tables()[static_cast<size_t>(type)] = table;
}

}  // namespace fulgur::kernels
