// UTF-8 checks for strings that cross into Python (pickled str, safetensors JSON).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fulgur::serialize {

// Well-formed UTF-8, as Python decodes pickled strings ('utf-8', 'surrogatepass': encoded
// surrogates U+D800..U+DFFF are accepted unless allow_surrogates is false; overlong forms and
// code points past U+10FFFF never).
bool is_valid_utf8(std::string_view s, bool allow_surrogates = true);
// Appends the UTF-8 bytes of code point `cp` (at most U+10FFFF; the caller checks).
void append_utf8(uint32_t cp, std::string& out);
// The first bytes of s for an error message, non-printable bytes as \xNN.
std::string printable_prefix(std::string_view s, size_t max_bytes = 60);

}  // namespace fulgur::serialize
