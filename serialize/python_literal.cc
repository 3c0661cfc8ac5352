#include "fulgur/serialize/python_literal.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/utf8.h"

namespace fulgur {
namespace {

constexpr int kMaxDepth = 100;

bool is_digit(char c, int base) {
  if (base == 16) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  return c >= '0' && c < static_cast<char>('0' + base);
}

class LiteralParser {
 public:
  explicit LiteralParser(const std::string& text) : s_(text) {}

  Value parse() {
    // literal_eval strips leading spaces and tabs; blank lines may follow, an indented line not.
    while (peek() == ' ' || peek() == '\t') ++pos_;
    while (peek() == '\n' || peek() == '\r') {
      skip_newline();
      const size_t line = pos_;
      while (peek() == ' ' || peek() == '\t' || peek() == '\f') ++pos_;
      if (peek() != '\n' && peek() != '\r' && pos_ != line && !at_end()) fail("an unexpected indent");
    }
    Value v = value();
    // Trailing whitespace and blank lines only.
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\f' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
    if (!at_end()) fail("unexpected text after the literal");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    FULGUR_FAIL("parse_python_literal", "'", printable(s_, 60, true), "': ", why, " at offset ", pos_,
                "; hint: write a Python literal (None, True, 3, 0.5, 'text', [..], (..), {..})");
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  void skip_newline() {
    if (peek() == '\r' && peek(1) == '\n') ++pos_;
    ++pos_;
  }
  // Python's whitespace between tokens: line breaks only inside brackets (implicit line
  // joining); no backslash continuations.
  void skip_space() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\f' || (brackets_ > 0 && (peek() == '\n' || peek() == '\r'))) {
      ++pos_;
    }
  }

  Value value() {
    skip_space();
    const char c = peek();
    if (c == '\'' || c == '"') return string();
    if (c == '[') return sequence(']', false);
    if (c == '(') return sequence(')', true);
    if (c == '{') return dict();
    if (c == '+' || c == '-' || c == '.' || is_digit(c, 10)) return number();
    return name();
  }

  Value name() {
    size_t end = pos_;
    while (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_')) ++end;
    const std::string word = s_.substr(pos_, end - pos_);
    if (word == "None" || word == "True" || word == "False") {
      pos_ = end;
      return word == "None" ? Value() : Value(word == "True");
    }
    fail(word.empty() ? "no literal" : "'" + printable(word, 30, true) + "' is not a literal");
  }

  // Digits of `base` with single '_' between them; false when there are none.
  bool digits(int base, std::string& out) {
    const size_t start = out.size();
    while (is_digit(peek(), base)) {
      out += s_[pos_++];
      if (peek() == '_' && is_digit(peek(1), base)) ++pos_;
    }
    return out.size() > start;
  }

  Value number() {
    bool negative = false;
    if (peek() == '+' || peek() == '-') {  // literal_eval takes one unary sign on a number
      negative = s_[pos_] == '-';
      ++pos_;
      skip_space();
    }
    if (peek() == '0' && (peek(1) == 'x' || peek(1) == 'X' || peek(1) == 'o' || peek(1) == 'O' || peek(1) == 'b' ||
                          peek(1) == 'B')) {
      const char kind = static_cast<char>(std::tolower(static_cast<unsigned char>(peek(1))));
      pos_ += 2;
      if (peek() == '_') ++pos_;
      std::string body;
      if (!digits(kind == 'x' ? 16 : kind == 'o' ? 8 : 2, body)) fail("no digits after the prefix");
      return integer(body, kind == 'x' ? 16 : kind == 'o' ? 8 : 2, negative);
    }
    std::string text;
    const bool whole = digits(10, text);
    bool is_float = false;
    if (peek() == '.') {
      is_float = true;
      text += s_[pos_++];
      if (!digits(10, text) && !whole) fail("no digits around '.'");
    } else if (!whole) {
      fail("no literal");
    }
    if (peek() == 'e' || peek() == 'E') {
      is_float = true;
      text += s_[pos_++];
      if (peek() == '+' || peek() == '-') text += s_[pos_++];
      if (!digits(10, text)) fail("no digits in the exponent");
    }
    if (peek() == 'j' || peek() == 'J') fail("complex numbers are not read");
    if (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_') fail("a malformed number");
    if (is_float) {
      const double d = std::strtod(text.c_str(), nullptr);  // overflow gives inf, as Python's 1e999
      return negative ? -d : d;
    }
    if (text.size() > 1 && text.find_first_not_of('0') != std::string::npos && text[0] == '0') {
      fail("leading zeros in a decimal int");
    }
    return integer(text, 10, negative);
  }

  Value integer(const std::string& digits_text, int base, bool negative) {
    errno = 0;
    const unsigned long long magnitude = std::strtoull(digits_text.c_str(), nullptr, base);
    const unsigned long long limit = negative ? (1ULL << 63) : (1ULL << 63) - 1;
    if (errno == ERANGE || magnitude > limit) fail("an int beyond int64");
    if (negative) return magnitude == (1ULL << 63) ? INT64_MIN : -static_cast<int64_t>(magnitude);
    return static_cast<int64_t>(magnitude);
  }

  void hex_escape(int count, std::string& out) {
    uint32_t code = 0;
    for (int i = 0; i < count; ++i) {
      if (!is_digit(peek(), 16)) fail("a truncated \\x, \\u or \\U escape");
      const char c = s_[pos_++];
      code = code * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    // Value's strings are UTF-8, which has no lone surrogates (Python's str can hold them).
    if (code >= 0xD800 && code <= 0xDFFF) fail("a surrogate escape");
    if (code > 0x10FFFF) fail("an escape past U+10FFFF");
    serialize::append_utf8(code, out);
  }

  Value string() {
    const char quote = s_[pos_++];
    if (peek() == quote && peek(1) == quote) fail("triple-quoted strings are not read");
    std::string out;
    while (true) {
      if (at_end() || peek() == '\n' || peek() == '\r') fail("an unterminated string");
      if (peek() == '\0') fail("a NUL byte in a string");
      const char c = s_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("an unterminated string");
      const char e = s_[pos_++];
      switch (e) {
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'x': hex_escape(2, out); break;
        case 'u': hex_escape(4, out); break;
        case 'U': hex_escape(8, out); break;
        case 'N': fail("\\N{name} escapes are not read");
        case '\n': break;  // a backslash-newline continues the string
        case '\r':
          if (peek() == '\n') ++pos_;
          break;
        default:
          if (is_digit(e, 8)) {  // \o, \oo, \ooo
            uint32_t code = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && is_digit(peek(), 8); ++i) code = code * 8 + static_cast<uint32_t>(s_[pos_++] - '0');
            serialize::append_utf8(code, out);
          } else {
            out += '\\';  // Python keeps unknown escapes
            out += e;
          }
      }
    }
    // Raw surrogates are refused as Python refuses them in source text.
    if (!serialize::is_valid_utf8(out, /*allow_surrogates=*/false)) fail("a string that is not UTF-8");
    skip_space();
    if (peek() == '\'' || peek() == '"') fail("implicitly concatenated strings are not read");
    return out;
  }

  // Entering brackets: line breaks become whitespace; the depth is bounded.
  void open_bracket() {
    if (++brackets_ > kMaxDepth) fail("nested too deeply");
    ++pos_;
  }

  Value sequence(char close, bool tuple) {
    open_bracket();
    std::vector<Value> items;
    bool trailing_comma = false;
    while (true) {
      skip_space();
      if (peek() == close) break;
      items.push_back(value());
      skip_space();
      trailing_comma = false;
      if (peek() == ',') {
        ++pos_;
        trailing_comma = true;
        continue;
      }
      if (peek() != close) fail(std::string("expected ',' or '") + close + "'");
    }
    ++pos_;
    --brackets_;
    // (x) is x itself; (x,) and () are tuples.
    if (tuple && items.size() == 1 && !trailing_comma) return std::move(items[0]);
    return tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
  }

  Value dict() {
    open_bracket();
    std::vector<Value::Item> items;
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const Value key = value();
      skip_space();
      if (peek() != ':') fail(items.empty() ? "sets are not read" : "expected ':'");
      ++pos_;
      if (key.is_string()) {
        items.emplace_back(key.as_string(), value());
      } else if (key.is_int()) {
        items.emplace_back(key.as_int(), value());
      } else {
        fail("a dict key that is not a str or an int");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}'");
    }
    ++pos_;
    --brackets_;
    return Value::dict(std::move(items));
  }

  const std::string& s_;
  size_t pos_ = 0;
  int brackets_ = 0;  // open [ ( { around the current position
};

}  // namespace

Value parse_python_literal(const std::string& text) { return LiteralParser(text).parse(); }

}  // namespace fulgur
