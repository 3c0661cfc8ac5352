#include "fulgur/trainer/class_name.h"

#include <cxxabi.h>

#include <cstdlib>

namespace fulgur::lightning {

std::string python_class_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type.name();
  std::free(demangled);
  // The last "::" before any template arguments ends the namespaces and enclosing classes.
  const size_t colon = name.rfind("::", name.find('<'));
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

}  // namespace fulgur::lightning
