#include "fulgur/serialize/json_writer.h"

#include <cmath>
#include <cstdio>

#include "fulgur/kernels/error.h"

namespace fulgur::serialize {
namespace {

void append_json(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(v.as_int()); return;
    case Value::Kind::Double: out += json_number(v.as_double()); return;
    case Value::Kind::String: append_json_string(out, v.as_string()); return;
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      out += '[';
      bool first = true;
      for (const Value& item : v.elements()) {
        if (!first) out += ", ";
        first = false;
        append_json(out, item);
      }
      out += ']';
      return;
    }
    case Value::Kind::Dict: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        append_json_string(out, key.is_int() ? std::to_string(key.as_int()) : key.as_string());
        out += ": ";
        append_json(out, item);
      }
      out += '}';
      return;
    }
    case Value::Kind::Tensor: break;
  }
  FULGUR_FAIL("to_json", "a Tensor is not JSON serializable (", v.repr(),
              "); hint: pass its number (.item()) or its str()");
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string json_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return float_repr(v);
}

std::string to_json(const Value& v) {
  std::string out;
  append_json(out, v);
  return out;
}

}  // namespace fulgur::serialize
