#include "fulgur/trainer/metrics/warnings.h"

#include <iostream>
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
void default_handler(const std::string& message) {
  static std::set<std::string> seen;
  if (!seen.insert(message).second) return;
  std::cerr << "UserWarning: " << message << std::endl;
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
