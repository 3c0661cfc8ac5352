#include "fulgur/kernels/device.h"

#include <charconv>

#include "fulgur/kernels/error.h"

namespace fulgur {

Device Device::parse(const std::string& spec) {
  if (spec == "cpu") return cpu();
  if (spec == "cuda") return cuda(0);
  if (spec.rfind("cuda:", 0) == 0) {
    int index = -1;
    const char* first = spec.data() + 5;
    const char* last = spec.data() + spec.size();
    auto [ptr, ec] = std::from_chars(first, last, index);
    if (ec == std::errc() && ptr == last && index >= 0 && index < 32768) return cuda(index);
  }
  FULGUR_FAIL("Device", "cannot parse device '", spec,
              "'; expected \"cpu\", \"cuda\" or \"cuda:N\"");
}

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::ostream& operator<<(std::ostream& os, const Device& device) { return os << device.str(); }

}  // namespace fulgur
