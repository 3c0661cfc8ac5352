#include "fulgur/kernels/error.h"

#include <cstdio>

namespace fulgur {

namespace detail {

void throw_error(const char* op, const std::string& message) {
  throw Error(std::string(op) + ": " + message);
}

}  // namespace detail

std::string printable(std::string_view bytes, size_t max_bytes, bool escape_quotes) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    const auto u = static_cast<unsigned char>(bytes[i]);
    if (u >= 0x20 && u < 0x7f && !(escape_quotes && (u == '\'' || u == '\\'))) {
      out += static_cast<char>(u);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  if (bytes.size() > max_bytes) out += "...";
  return out;
}

}  // namespace fulgur
