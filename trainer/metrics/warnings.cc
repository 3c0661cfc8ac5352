#include "fulgur/trainer/metrics/warnings.h"

#include "fulgur/trainer/rank_zero.h"

#include <mutex>
#include <set>
#include <utility>

namespace fulgur::metrics {
namespace {

std::mutex& mutex() {
  static std::mutex m;
  return m;
}

WarningHandler& handler() {
  static WarningHandler h;
  return h;
}

// Python shows a given warning once per call site; the message stands in for the site.
// torchmetrics warns through rank_zero_warn: global rank 0 prints.
void default_handler(const std::string& message) {
  static std::set<std::string> seen;
  if (!seen.insert(message).second) return;
  lightning::rank_zero_printf("UserWarning: %s\n", message.c_str());
}

}  // namespace

WarningHandler set_warning_handler(WarningHandler h) {
  std::lock_guard<std::mutex> lock(mutex());
  return std::exchange(handler(), std::move(h));
}

void warn(const std::string& message) {
  WarningHandler h;
  {
    std::lock_guard<std::mutex> lock(mutex());
    h = handler();
    if (!h) {
      default_handler(message);
      return;
    }
  }
  h(message);  // outside the lock: a handler may warn again or install another handler
}

}  // namespace fulgur::metrics
