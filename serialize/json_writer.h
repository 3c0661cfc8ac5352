// JSON text as Python's json.dumps writes it (its default separators ", " and ": ", floats by
// repr, NaN/Infinity as Python allows by default, non-ASCII kept as UTF-8), for the files whose
// readers are Python tools: safetensors' header, W&B's value_json fields.
#pragma once

#include <string>
#include <string_view>

#include "fulgur/tensor/value.h"

namespace fulgur::serialize {

// `s` as a JSON string literal appended to `out`: quotes, backslashes and control bytes escaped.
void append_json_string(std::string& out, std::string_view s);

// json.dumps(v): None -> null, bools, ints, floats (repr; NaN, Infinity, -Infinity), strings,
// lists and tuples -> arrays, dicts -> objects (int keys become strings, as in Python). A
// Tensor is not JSON: fulgur::Error (convert it first, e.g. to its number or its str()).
std::string to_json(const Value& v);
// json.dumps of one float: "0.5", "1.0", "1e-08", "NaN", "Infinity".
std::string json_number(double v);

}  // namespace fulgur::serialize
