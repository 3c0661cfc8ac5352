// parse_python_literal on arbitrary text; whatever parses must print (Value::repr, Python's
// repr) as text that parses back to the same repr, unless it holds an inf or a nan (Python's
// repr of those, inf and nan, is not a literal either).
#include <cmath>
#include <string>

#include "fulgur/serialize/python_literal.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

namespace {

bool all_finite(const fulgur::Value& v) {
  if (v.is_double()) return std::isfinite(v.as_double());
  if (v.is_list() || v.is_tuple()) {
    for (const fulgur::Value& e : v.elements()) {
      if (!all_finite(e)) return false;
    }
  }
  if (v.is_dict()) {
    for (const fulgur::Value::Item& item : v.items()) {
      if (!all_finite(item.second)) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fulgur::fuzz::expect_only_errors([&] {
    const fulgur::Value v = fulgur::parse_python_literal(text);
    if (!all_finite(v)) return;
    const std::string once = v.repr();
    const std::string twice = fulgur::parse_python_literal(once).repr();
    if (once != twice) __builtin_trap();  // repr and the parser disagree
  });
  return 0;
}
