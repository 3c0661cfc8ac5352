// fulgur::Error: the one exception type for user errors (bad shapes, dtypes, devices,
// indices, files). Messages name the op, what it was given, what it expected, and a hint.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fulgur {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {

// Concatenates any streamable values; used by FULGUR_CHECK so that the message is only
// built when the check fails.
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

[[noreturn]] void throw_error(const char* op, const std::string& message);

}  // namespace detail

// Untrusted bytes (names and header text read from files) made safe for an error message:
// printable ASCII kept, other bytes as \xNN, at most max_bytes shown ("..." after).
// escape_quotes also escapes ' and \, for text shown between quotes.
std::string printable(std::string_view bytes, size_t max_bytes = 60, bool escape_quotes = false);
}  // namespace fulgur

// FULGUR_CHECK(cond, "op", parts...): throws fulgur::Error("op: parts...") when cond is false.
#define FULGUR_CHECK(cond, op, ...)                                            \
  do {                                                                         \
    if (!(cond)) [[unlikely]] {                                                \
      ::fulgur::detail::throw_error(op, ::fulgur::detail::str_cat(__VA_ARGS__)); \
    }                                                                          \
  } while (0)

#define FULGUR_FAIL(op, ...) \
  ::fulgur::detail::throw_error(op, ::fulgur::detail::str_cat(__VA_ARGS__))
