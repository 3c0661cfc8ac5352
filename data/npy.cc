#include "fulgur/data/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/zip_reader.h"

namespace fulgur::data {
namespace {

using serialize::ByteSource;

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

[[noreturn]] void fail(const ByteSource& src, const std::string& problem) {
  FULGUR_FAIL("npy", "'", src.name(), "': ", problem);
}

// A strict parser of the header's dict literal: string keys; values are strings, True/False,
// or tuples of non-negative integers.
struct HeaderValue {
  enum Kind { String, Bool, Tuple } kind = String;
  std::string str;
  bool b = false;
  std::vector<int64_t> ints;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const ByteSource& src) : s_(text), src_(src) {}

  std::vector<std::pair<std::string, HeaderValue>> parse_dict() {
    std::vector<std::pair<std::string, HeaderValue>> items;
    skip_ws();
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      HeaderValue v = parse_value(key);
      for (const auto& kv : items)
        if (kv.first == key) error("key '" + key + "' appears twice");
      items.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_ws();
      if (peek() != '}') error("expected ',' or '}'");
    }
    ++i_;
    skip_ws();
    if (i_ != s_.size()) error("unexpected text after the dict");
    return items;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(src_, "cannot parse the header " + printable(s_, 120) + ": " + what + " at character " +
                   std::to_string(i_));
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') error("expected a quoted string");
    ++i_;
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') error("escape sequences are not supported");
      ++i_;
    }
    if (i_ >= s_.size()) error("unterminated string");
    std::string out(s_.substr(start, i_ - start));
    ++i_;
    return out;
  }
  HeaderValue parse_value(const std::string& key) {
    HeaderValue v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = HeaderValue::String;
      v.str = parse_string();
    } else if (s_.substr(i_, 4) == "True") {
      v.kind = HeaderValue::Bool;
      v.b = true;
      i_ += 4;
    } else if (s_.substr(i_, 5) == "False") {
      v.kind = HeaderValue::Bool;
      i_ += 5;
    } else if (c == '(') {
      v.kind = HeaderValue::Tuple;
      ++i_;
      for (;;) {
        skip_ws();
        if (peek() == ')') break;
        if (!std::isdigit(static_cast<unsigned char>(peek())))
          error("expected a non-negative integer in the " + key + " tuple");
        int64_t n = 0;
        while (std::isdigit(static_cast<unsigned char>(peek()))) {
          const int digit = peek() - '0';
          if (n > (INT64_MAX - digit) / 10) error("integer too large in the " + key + " tuple");
          n = n * 10 + digit;
          ++i_;
        }
        if (peek() == 'L') ++i_;  // Python 2 long literal (old files)
        v.ints.push_back(n);
        skip_ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        skip_ws();
        if (peek() != ')') error("expected ',' or ')' in the " + key + " tuple");
      }
      ++i_;
    } else if (c == '[') {
      error("'" + key + "' is a list: structured (record) dtypes are not supported");
    } else {
      error("unsupported value for '" + key + "'");
    }
    return v;
  }

  std::string_view s_;
  const ByteSource& src_;
  size_t i_ = 0;
};

DType parse_descr(const std::string& descr, const ByteSource& src) {
  auto bad = [&](const std::string& why) -> DType {
    fail(src, "dtype '" + printable(descr, 120) + "' is not supported: " + why);
  };
  if (descr.size() < 2) return bad("expected a byte-order character and a type code, like '<f4'");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  if (order != '<' && order != '>' && order != '|' && order != '=')
    return bad("expected a byte-order character ('<', '>', '|' or '=') first");
  static const std::pair<const char*, DType> kTypes[] = {
      {"b1", kBool},   {"i1", kInt8},    {"u1", kUInt8},   {"i2", kInt16},  {"i4", kInt32},
      {"i8", kInt64},  {"f2", kFloat16}, {"f4", kFloat32}, {"f8", kFloat64},
  };
  std::optional<DType> dtype;
  for (const auto& [name, dt] : kTypes)
    if (code == name) dtype = dt;
  if (!dtype) {
    if (code == "O") return bad("object arrays hold pickled Python objects (save numeric arrays only)");
    if (code == "u2" || code == "u4" || code == "u8")
      return bad("unsigned 16/32/64-bit integers have no Fulgur dtype (save with .astype(np.int64))");
    if (!code.empty() && (code[0] == 'c'))
      return bad("complex numbers are not supported");
    if (!code.empty() && (code[0] == 'S' || code[0] == 'U' || code[0] == 'V' || code[0] == 'a'))
      return bad("string, bytes and void dtypes are not supported");
    if (!code.empty() && (code[0] == 'M' || code[0] == 'm'))
      return bad("datetime dtypes are not supported");
    return bad("unknown type code (supported: b1 i1 u1 i2 i4 i8 f2 f4 f8)");
  }
  if (order == '>' && element_size(*dtype) > 1)
    return bad("big-endian data (convert with .astype('<" + code + "') before saving)");
  return *dtype;
}

}  // namespace

Tensor load_npy(const serialize::ByteSource& src) {
  const uint64_t size = src.size();
  if (size < kMagicLen + 4) fail(src, "truncated: " + std::to_string(size) + " bytes is shorter than the .npy preamble (10 bytes)");
  uint8_t pre[12] = {};
  src.read(0, pre, std::min<uint64_t>(size, 12));
  if (std::memcmp(pre, kMagic, kMagicLen) != 0)
    fail(src, "bad magic string (a .npy file starts with \\x93NUMPY): not a .npy file");
  const int major = pre[6], minor = pre[7];
  uint64_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint64_t>(pre[8]) | static_cast<uint64_t>(pre[9]) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail(src, "truncated: the version " + std::to_string(major) + ".0 preamble needs 12 bytes");
    header_len = static_cast<uint64_t>(pre[8]) | static_cast<uint64_t>(pre[9]) << 8 |
                 static_cast<uint64_t>(pre[10]) << 16 | static_cast<uint64_t>(pre[11]) << 24;
    header_start = 12;
  } else {
    fail(src, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
                  " (supported: 1.0, 2.0, 3.0)");
  }
  if (minor != 0)
    fail(src, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
                  " (supported: 1.0, 2.0, 3.0)");
  if (header_len > size - header_start)
    fail(src, "truncated: the header length field says " + std::to_string(header_len) +
                  " bytes but only " + std::to_string(size - header_start) + " follow");
  std::string header(static_cast<size_t>(header_len), '\0');
  src.read(header_start, header.data(), header.size());
  if (header.empty() || header.back() != '\n')
    fail(src, "the header does not end with a newline (corrupt header length?)");
  if (major < 3)
    for (const char c : header)
      if (static_cast<unsigned char>(c) >= 0x80) fail(src, "non-ASCII character in a version 1/2 header");

  const auto items = HeaderParser(header, src).parse_dict();
  const HeaderValue *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (const auto& [key, v] : items) {
    if (key == "descr") descr = &v;
    else if (key == "fortran_order") fortran = &v;
    else if (key == "shape") shape = &v;
    else fail(src, "unexpected key '" + printable(key, 120) + "' in the header (expected descr, fortran_order, shape)");
  }
  if (!descr || !fortran || !shape) fail(src, "the header lacks one of the keys descr, fortran_order, shape");
  if (descr->kind != HeaderValue::String) fail(src, "'descr' must be a string");
  if (fortran->kind != HeaderValue::Bool) fail(src, "'fortran_order' must be True or False");
  if (shape->kind != HeaderValue::Tuple) fail(src, "'shape' must be a tuple");
  const DType dtype = parse_descr(descr->str, src);
  const Shape sizes = shape->ints;
  if (sizes.size() > 64) fail(src, "shape has " + std::to_string(sizes.size()) + " dimensions (at most 64)");

  // The product of the sizes with zeros counted as 1 must fit too: those are the strides.
  uint64_t n = 1, strides = 1;
  bool overflow = false;
  for (const int64_t s : sizes) {
    const auto u = static_cast<uint64_t>(s);
    if (__builtin_mul_overflow(n, u, &n)) overflow = true;
    if (__builtin_mul_overflow(strides, std::max<uint64_t>(u, 1), &strides)) overflow = true;
  }
  const uint64_t item = element_size(dtype);
  if (overflow || strides > static_cast<uint64_t>(INT64_MAX) / item)
    fail(src, "shape " + shape_str(sizes) + " overflows: the element count is too large (corrupt header)");
  const uint64_t data_start = header_start + header_len;
  const uint64_t have = size - data_start, need = n * item;
  if (have != need)
    fail(src, "shape " + shape_str(sizes) + " of " + std::string(dtype_name(dtype)) + " needs " +
                  std::to_string(need) + " bytes of data but the file has " + std::to_string(have) +
                  (have < need ? " (truncated)" : " (trailing data)"));

  Tensor t = make_tensor(sizes, dtype, kCPU);
  src.read(data_start, t.data_ptr(), static_cast<size_t>(need));
  if (dtype == kBool) {
    auto* p = static_cast<uint8_t*>(t.data_ptr());
    for (uint64_t i = 0; i < need; ++i)
      if (p[i] > 1) fail(src, "bool array holds byte " + std::to_string(p[i]) + " at element " + std::to_string(i) + " (expected 0 or 1)");
  }
  if (fortran->b && sizes.size() > 1) {
    // Column-major: stride 1 along the first dim.
    Shape strides(sizes.size());
    int64_t st = 1;
    for (size_t d = 0; d < sizes.size(); ++d) {
      strides[d] = st;
      st *= std::max<int64_t>(sizes[d], 1);
    }
    t = t.as_strided(sizes, strides, 0).contiguous();
  }
  return t;
}

Tensor load_npy(const std::string& path) { return load_npy(*serialize::open_file(path, "npy")); }

bool NpzArrays::contains(std::string_view name) const {
  return std::any_of(items.begin(), items.end(), [&](const auto& kv) { return kv.first == name; });
}

const Tensor& NpzArrays::at(std::string_view name) const {
  for (const auto& kv : items)
    if (kv.first == name) return kv.second;
  std::string names;
  for (const auto& kv : items) names += (names.empty() ? "'" : ", '") + kv.first + "'";
  FULGUR_FAIL("npz", "no array named '", name, "'; the file has ", names.empty() ? "none" : names);
}

std::vector<std::string> NpzArrays::names() const {
  std::vector<std::string> out;
  for (const auto& kv : items) out.push_back(kv.first);
  return out;
}

NpzArrays load_npz(std::shared_ptr<const serialize::ByteSource> source) {
  const std::string file = source->name();
  const serialize::ZipReader zip(std::move(source));
  NpzArrays out;
  for (const serialize::ZipEntry& e : zip.entries()) {
    const std::string shown = printable(e.name, 120);
    FULGUR_CHECK(e.name.size() > 4 && e.name.ends_with(".npy"), "npz", "'", file, "': entry '", shown,
                 "' is not a .npy array (an .npz file holds <name>.npy entries)");
    std::vector<uint8_t> bytes = zip.read(e);
    const auto member = serialize::memory_source(file + "/" + shown, std::move(bytes));
    out.items.emplace_back(e.name.substr(0, e.name.size() - 4), load_npy(*member));
  }
  return out;
}

NpzArrays load_npz(const std::string& path) { return load_npz(serialize::open_file(path, "npz")); }

}  // namespace fulgur::data
