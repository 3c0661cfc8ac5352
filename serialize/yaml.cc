#include "fulgur/serialize/yaml.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/utf8.h"

namespace fulgur {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool parse_int(const std::string& s, int64_t* out) {
  std::string_view v = s;
  bool negative = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    negative = v[0] == '-';
    v.remove_prefix(1);
  }
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'o')) {
    base = v[1] == 'x' ? 16 : 8;
    v.remove_prefix(2);
  }
  if (v.empty()) return false;
  uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), magnitude, base);
  if (ec != std::errc() || end != v.data() + v.size()) return false;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return false;  // out of int64: YAML would give a bigint; keep the text
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

bool parse_float(const std::string& s, double* out) {
  const std::string l = lower(s);
  if (l == ".inf" || l == "+.inf") return *out = std::numeric_limits<double>::infinity(), true;
  if (l == "-.inf") return *out = -std::numeric_limits<double>::infinity(), true;
  if (l == ".nan") return *out = std::numeric_limits<double>::quiet_NaN(), true;
  // The core schema's float: digits with a '.' and/or an exponent; no hex, no "inf" words.
  if (s.find_first_of(".eE") == std::string::npos) return false;
  if (s.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
  std::string_view v = s;
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && end == v.data() + v.size();
}

// YAML's c-printable set (what PyYAML's reader accepts): tab, LF, CR, printable ASCII, NEL,
// and the non-control, non-surrogate planes. Returns the offset of the first other character,
// or npos. `s` is valid UTF-8.
size_t first_unprintable(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    uint32_t cp = len == 1 ? b : b & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    const bool printable = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
                           (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
                           (cp >= 0x10000 && cp <= 0x10FFFF);
    if (!printable) return i;
    i += len;
  }
  return std::string::npos;
}

Value scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "?") return Value(text);  // quoted ("!") or explicitly tagged: a string
  const std::string l = lower(text);
  if (text.empty() || text == "~" || l == "null") return Value();
  if (l == "true") return Value(true);
  if (l == "false") return Value(false);
  int64_t i = 0;
  if (parse_int(text, &i)) return Value(i);
  double d = 0;
  if (parse_float(text, &d)) return Value(d);
  return Value(text);
}

// Aliases can make a graph recursive (`&a [*a]`) or exponentially large when expanded
// ("billion laughs"); both stop with an error instead of a stack overflow or OOM.
constexpr int kMaxDepth = 200;
constexpr int64_t kMaxNodes = 1'000'000;

struct Limits {
  const std::string& source;
  int64_t nodes = 0;
};

Value convert(const YAML::Node& node, Limits& limits, int depth) {
  const std::string& source = limits.source;
  FULGUR_CHECK(depth <= kMaxDepth, "parse_yaml", source, ": nesting deeper than ", kMaxDepth,
               " levels (a recursive alias?) at line ", node.Mark().line + 1);
  FULGUR_CHECK(++limits.nodes <= kMaxNodes, "parse_yaml", source, ": more than ", kMaxNodes,
               " values once aliases are expanded; hint: a config file this large is probably an alias bomb");
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Value();
    case YAML::NodeType::Scalar:
      return scalar(node);
    case YAML::NodeType::Sequence: {
      std::vector<Value> items;
      for (const YAML::Node& e : node) items.push_back(convert(e, limits, depth + 1));
      return Value::list(std::move(items));
    }
    case YAML::NodeType::Map: {
      Value dict = Value::dict();
      for (const auto& kv : node) {
        FULGUR_CHECK(kv.first.IsScalar(), "parse_yaml", source, " line ", kv.first.Mark().line + 1,
                     ": a mapping key must be a plain scalar; hint: write `key: value`");
        dict.set(kv.first.Scalar(), convert(kv.second, limits, depth + 1));
      }
      return dict;
    }
  }
  return Value();
}

std::string format_double(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[32];
  // The shortest text that reads back to the same double, always with a '.' or an exponent
  // so that it reads back as a float, not an int.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, end);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// Strings that would read back as another type, or that YAML would misparse, are quoted.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;  // written as an escape
  }
  try {
    const YAML::Node node = YAML::Load(s);
    if (!node.IsScalar()) return true;
    const Value typed = scalar(node);
    if (!typed.is_string() || typed.as_string() != s) return true;
  } catch (const YAML::Exception&) {
    return true;  // not even valid YAML on its own
  }
  return s.find_first_of(":#{}[],&*!|>'\"%@`\n") != std::string::npos || s.front() == ' ' || s.back() == ' ' ||
         s.front() == '-' || s.front() == '?';
}

void emit(YAML::Emitter& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: out << YAML::Null; return;
    case Value::Kind::Bool: out << (v.as_bool() ? "true" : "false"); return;
    case Value::Kind::Int: out << v.as_int(); return;
    case Value::Kind::Double: out << format_double(v.as_double()); return;
    case Value::Kind::String:
      if (needs_quotes(v.as_string())) out << YAML::DoubleQuoted;
      out << v.as_string();
      return;
    case Value::Kind::List:
    case Value::Kind::Tuple:
      out << YAML::BeginSeq;
      for (const Value& e : v.elements()) emit(out, e);
      out << YAML::EndSeq;
      return;
    case Value::Kind::Dict:
      out << YAML::BeginMap;
      for (const Value::Item& item : v.items()) {
        const std::string key = item.first.is_int() ? std::to_string(item.first.as_int()) : item.first.as_string();
        out << YAML::Key;
        if (needs_quotes(key)) out << YAML::DoubleQuoted;
        out << key << YAML::Value;
        emit(out, item.second);
      }
      out << YAML::EndMap;
      return;
    case Value::Kind::Tensor:
      break;
  }
  FULGUR_CHECK(false, "to_yaml", "a Tensor cannot be written to YAML; hint: convert it with item() or a list first");
}

}  // namespace

Value parse_yaml(const std::string& text, const std::string& source) {
  // YAML is Unicode text; PyYAML refuses other bytes too (yaml-cpp would pass them through,
  // and its emitter would then write U+FFFD instead).
  FULGUR_CHECK(serialize::is_valid_utf8(text), "parse_yaml", source, " is not UTF-8 text; hint: save the file as UTF-8");
  const size_t bad = first_unprintable(text);
  FULGUR_CHECK(bad == std::string::npos, "parse_yaml", source, ": unacceptable control character at byte ", bad,
               " (YAML allows tab, newline and printable characters only)");
  // YAML normalises CR LF and a lone CR to LF (spec 5.4); yaml-cpp keeps a lone CR as text.
  std::string normalized;
  normalized.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') normalized += text[i];
    else if (i + 1 == text.size() || text[i + 1] != '\n') normalized += '\n';
  }
  YAML::Node root;
  try {
    root = YAML::Load(normalized);
  } catch (const YAML::Exception& e) {
    FULGUR_CHECK(false, "parse_yaml", source, " line ", e.mark.line + 1, " column ", e.mark.column + 1, ": ", e.msg);
  }
  Limits limits{source};
  return convert(root, limits, 0);
}

std::string to_yaml(const Value& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, value);
  std::string text = out.c_str();
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

}  // namespace fulgur
