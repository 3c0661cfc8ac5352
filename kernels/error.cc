#include "fulgur/kernels/error.h"

namespace fulgur::detail {

void throw_error(const char* op, const std::string& message) {
  throw Error(std::string(op) + ": " + message);
}

}  // namespace fulgur::detail
