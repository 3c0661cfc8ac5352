// parse_yaml on arbitrary text; whatever parses must survive to_yaml -> parse_yaml -> to_yaml
// unchanged (the emitter's quoting keeps every string a string).
#include <string>

#include "fulgur/serialize/yaml.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fulgur::fuzz::expect_only_errors([&] {
    const fulgur::Value v = fulgur::parse_yaml(text, "fuzz.yaml");
    const std::string once = fulgur::to_yaml(v);
    const std::string twice = fulgur::to_yaml(fulgur::parse_yaml(once, "to_yaml output"));
    if (once != twice) __builtin_trap();  // the round trip changed a value
  });
  return 0;
}
