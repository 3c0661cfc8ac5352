#include "fulgur/trainer/callbacks/python_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/value.h"

namespace fulgur::lightning::callbacks {

namespace {

std::string py_float(double v) { return Value(v).repr(); }

// One field of Python's format-spec mini-language applied to an int or a float (Lightning's
// metrics are 0-d tensors, whose __format__ formats their item()).
struct Spec {
  char fill = ' ';
  char align = 0;
  char sign = '-';
  bool alternate = false;
  int64_t width = 0;
  char grouping = 0;
  int precision = -1;
  char type = 0;
};

Spec parse_spec(const std::string& spec, const std::string& field) {
  Spec s;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (spec.size() >= 2 && is_align(spec[1])) {
    s.fill = spec[0];
    s.align = spec[1];
    i = 2;
  } else if (!spec.empty() && is_align(spec[0])) {
    s.align = spec[0];
    i = 1;
  }
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) s.sign = spec[i++];
  if (i < spec.size() && spec[i] == '#') {
    s.alternate = true;
    ++i;
  }
  if (i < spec.size() && spec[i] == '0') {
    if (s.align == 0) {
      s.fill = '0';
      s.align = '=';
    }
    ++i;
  }
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) s.width = s.width * 10 + (spec[i++] - '0');
  if (i < spec.size() && (spec[i] == ',' || spec[i] == '_')) s.grouping = spec[i++];
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    FULGUR_CHECK(i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i])), "ModelCheckpoint",
                 "Format specifier missing precision in the filename field '", field, "'");
    s.precision = 0;
    while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) s.precision = s.precision * 10 + (spec[i++] - '0');
  }
  if (i < spec.size()) s.type = spec[i++];
  FULGUR_CHECK(i == spec.size(), "ModelCheckpoint", "Invalid format specifier '", spec, "' in the filename field '",
               field, "' (hint: Python's format spec, e.g. {val_loss:.2f} or {epoch:02d})");
  return s;
}

std::string group_digits(const std::string& digits, char sep) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    out += digits[i];
    if (sep != 0 && (n - i - 1) % 3 == 0 && i + 1 < n) out += sep;
  }
  return out;
}

}  // namespace

std::string python_format_number(double value, bool is_int, const std::string& spec_text, const std::string& field) {
  const Spec s = parse_spec(spec_text, field);
  std::string body;  // without the sign
  bool negative = false;
  char type = s.type;
  if (is_int && (type == 0 || type == 'd' || type == 'n')) {
    FULGUR_CHECK(s.precision < 0, "ModelCheckpoint", "Precision not allowed in integer format specifier (field '",
                 field, "')");
    const auto v = static_cast<int64_t>(value);
    negative = v < 0;
    body = group_digits(std::to_string(negative ? -v : v), s.grouping);
  } else {
    FULGUR_CHECK(is_int || (type != 'd' && type != 'b' && type != 'o' && type != 'x' && type != 'X'),
                 "ModelCheckpoint", "Unknown format code '", std::string(1, type),
                 "' for object of type 'float' (filename field '", field,
                 "'; hint: metrics are floats, use e.g. {", field, ":.2f})");
    FULGUR_CHECK(type == 0 || std::string("eEfFgGn%").find(type) != std::string::npos, "ModelCheckpoint",
                 "format code '", std::string(1, type), "' is not supported in checkpoint filenames (field '", field,
                 "'; hint: use d, n, e, E, f, F, g, G or %)");
    negative = std::signbit(value) && !std::isnan(value);
    const double a = std::fabs(value);
    if (type == 0 && s.precision < 0) {
      body = is_int ? std::to_string(static_cast<int64_t>(a)) : py_float(a);
    } else {
      const int p = s.precision < 0 ? 6 : s.precision;
      char buf[512];
      if (type == '%') {
        std::snprintf(buf, sizeof(buf), "%.*f", p, a * 100);
        body = std::string(buf) + "%";
      } else {
        const char t = type == 0 || type == 'n' ? 'g' : type;
        const std::string fmt = std::string("%") + (s.alternate ? "#" : "") + ".*" + t;
        std::snprintf(buf, sizeof(buf), fmt.c_str(), t == 'g' || t == 'G' ? std::max(p, 1) : p, a);
        body = buf;
        // Python's no-type float format keeps one decimal in fixed notation ("1.0", not "1").
        if (type == 0 && std::isfinite(a) && body.find_first_of(".e") == std::string::npos) body += ".0";
      }
      if (s.grouping != 0 && std::isfinite(a)) {
        const size_t int_end = body.find_first_not_of("0123456789");
        body = group_digits(body.substr(0, int_end), s.grouping) +
               (int_end == std::string::npos ? "" : body.substr(int_end));
      }
    }
  }
  const std::string sign = negative ? "-" : s.sign == '+' ? "+" : s.sign == ' ' ? " " : "";
  const auto len = static_cast<int64_t>(sign.size() + body.size());
  if (len >= s.width) return sign + body;
  const std::string pad(static_cast<size_t>(s.width - len), s.fill);
  switch (s.align == 0 ? '>' : s.align) {  // numbers align right by default
    case '<': return sign + body + pad;
    case '^': {
      const size_t left = pad.size() / 2;
      return pad.substr(0, left) + sign + body + pad.substr(left);
    }
    case '=': return sign + pad + body;
    default: return pad + sign + body;
  }
}


}  // namespace fulgur::lightning::callbacks
