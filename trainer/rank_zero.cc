#include "fulgur/trainer/rank_zero.h"

#include <cstdarg>
#include <cstdio>

#include "fulgur/distributed/launch_environment.h"
#include "fulgur/kernels/error.h"

namespace fulgur::lightning {

bool is_rank_zero() {
  try {
    return distributed::detect_launch_environment().rank == 0;
  } catch (const Error&) {
    return true;
  }
}

void rank_zero_printf(const char* format, ...) {
  if (!is_rank_zero()) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
}

}  // namespace fulgur::lightning
