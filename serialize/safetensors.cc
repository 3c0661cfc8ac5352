#include "fulgur/serialize/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "fulgur/kernels/error.h"
#include "fulgur/serialize/atomic_file.h"
#include "fulgur/serialize/json_writer.h"
#include "fulgur/serialize/torch_storage_types.h"
#include "fulgur/serialize/utf8.h"

namespace fulgur {
namespace serialize {
namespace {

constexpr const char* kSaveOp = "save_safetensors";
constexpr const char* kLoadOp = "load_safetensors";
constexpr int kMaxJsonDepth = 16;

// ---- a strict JSON subset: objects, arrays, strings, non-negative integers -----------------
struct Json {
  enum class Kind { Object, Array, String, Integer };
  Kind kind = Kind::Object;
  std::string str;
  uint64_t integer = 0;
  std::string key;            // a member of an object: its key
  std::vector<Json> items;    // Array
  std::vector<Json> members;  // Object, in order (each with its key)
};

class JsonParser {
 public:
  JsonParser(std::string_view text, std::string where) : s_(text), where_(std::move(where)) {}

  Json parse_document() {
    skip_ws();
    if (peek() != '{') fail("the header is not a JSON object");
    Json j = parse_value(0);
    skip_ws();
    if (i_ != s_.size()) fail("unexpected data after the header's JSON object");
    return j;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    FULGUR_FAIL(kLoadOp, where_, ": header: ", what, " (at byte ", i_, ")");
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c || i_ >= s_.size()) fail(std::string("expected '") + c + "'");
    ++i_;
  }

  Json parse_value(int depth) {
    if (depth > kMaxJsonDepth) fail("nested too deeply");
    skip_ws();
    const char c = peek();
    if (i_ >= s_.size()) fail("truncated");
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') {
      Json j;
      j.kind = Json::Kind::String;
      j.str = parse_string();
      return j;
    }
    if (c >= '0' && c <= '9') return parse_integer();
    if (c == '-') fail("negative numbers are not valid here");
    fail(std::string("unexpected character ") + printable_prefix(std::string_view(&s_[i_], 1)));
  }

  Json parse_object(int depth) {
    Json j;
    j.kind = Json::Kind::Object;
    ++i_;
    skip_ws();
    if (peek() == '}') {
      ++i_;
      return j;
    }
    std::unordered_set<std::string> seen;
    while (true) {
      skip_ws();
      if (peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      if (!seen.insert(key).second) fail("duplicate key " + printable_prefix(key));
      expect(':');
      Json v = parse_value(depth + 1);
      v.key = std::move(key);
      j.members.push_back(std::move(v));
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      return j;
    }
  }

  Json parse_array(int depth) {
    Json j;
    j.kind = Json::Kind::Array;
    ++i_;
    skip_ws();
    if (peek() == ']') {
      ++i_;
      return j;
    }
    while (true) {
      j.items.push_back(parse_value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect(']');
      return j;
    }
  }

  Json parse_integer() {
    Json j;
    j.kind = Json::Kind::Integer;
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      const uint64_t d = static_cast<uint64_t>(s_[i_] - '0');
      if (j.integer > (UINT64_MAX - d) / 10) fail("integer overflows 64 bits");
      j.integer = j.integer * 10 + d;
      ++i_;
    }
    if (i_ - start > 1 && s_[start] == '0') fail("integer with a leading zero");
    if (peek() == '.' || peek() == 'e' || peek() == 'E') fail("only integers are valid here");
    return j;
  }

  uint32_t hex4() {
    if (s_.size() - i_ < 4) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        fail("bad \\u escape");
      }
    }
    return v;
  }

  std::string parse_string() {
    ++i_;  // the opening quote
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated string");
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (s_.size() - i_ < 6 || s_[i_] != '\\' || s_[i_ + 1] != 'u') fail("unpaired surrogate");
            i_ += 2;
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate");
          }
          append_utf8(cp, out);
          break;
        }
        default: fail("bad escape in a string");
      }
    }
  }

  std::string_view s_;
  std::string where_;
  size_t i_ = 0;
};

std::string shape_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

struct Layout {
  std::string header;  // the 8-byte length and the padded JSON
  std::vector<Tensor> data;  // contiguous CPU tensors in file order
};

Layout layout(const NamedTensors& tensors, const SafetensorsMetadata& metadata) {
  Layout l;
  std::string json = "{";
  bool first = true;
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    std::unordered_set<std::string> seen;
    for (size_t i = 0; i < metadata.size(); ++i) {
      const auto& [k, v] = metadata[i];
      FULGUR_CHECK(is_valid_utf8(k) && is_valid_utf8(v), kSaveOp, "metadata entry ", printable_prefix(k),
                   " is not valid UTF-8");
      FULGUR_CHECK(seen.insert(k).second, kSaveOp, "duplicate metadata key ", printable_prefix(k));
      if (i) json += ',';
      append_json_string(json, k);
      json += ':';
      append_json_string(json, v);
    }
    json += '}';
    first = false;
  }
  std::unordered_set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    FULGUR_CHECK(!name.empty() && name != "__metadata__", kSaveOp, "invalid tensor name ",
                 printable_prefix(name));
    FULGUR_CHECK(is_valid_utf8(name), kSaveOp, "tensor name ", printable_prefix(name), " is not valid UTF-8");
    FULGUR_CHECK(names.insert(name).second, kSaveOp, "duplicate tensor name ", printable_prefix(name));
    FULGUR_CHECK(t.defined(), kSaveOp, "tensor ", printable_prefix(name), " is undefined");
    Tensor c = t.detach().to(kCPU).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    if (!first) json += ',';
    first = false;
    append_json_string(json, name);
    json += ":{\"dtype\":\"";
    json += safetensors_dtype(c.dtype());
    json += "\",\"shape\":[";
    for (int64_t d = 0; d < c.dim(); ++d) {
      if (d) json += ',';
      json += std::to_string(c.size(d));
    }
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]}";
    offset += nbytes;
    l.data.push_back(std::move(c));
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) l.header += static_cast<char>((n >> (8 * i)) & 0xFF);
  l.header += json;
  return l;
}

}  // namespace

std::string safetensors_to_string(const NamedTensors& tensors, const SafetensorsMetadata& metadata) {
  const Layout l = layout(tensors, metadata);
  std::string out = l.header;
  for (const Tensor& t : l.data) {
    out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * t.element_size());
  }
  return out;
}

SafetensorsFile load_safetensors_from(const std::shared_ptr<const ByteSource>& source) {
  const std::string where = "'" + source->name() + "'";
  const uint64_t file_size = source->size();
  FULGUR_CHECK(file_size >= 8, kLoadOp, where, ": ", file_size,
               " bytes is too short for a safetensors file (8-byte header length)");
  uint8_t len_bytes[8];
  source->read(0, len_bytes, 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len_bytes[i]) << (8 * i);
  FULGUR_CHECK(n <= kSafetensorsMaxHeader, kLoadOp, where, ": header length ", n,
               " exceeds the format's limit of ", kSafetensorsMaxHeader, " bytes");
  FULGUR_CHECK(n <= file_size - 8, kLoadOp, where, ": header length ", n, " runs past the end of the ",
               file_size, "-byte file (truncated?)");
  const std::vector<uint8_t> header_bytes = source->read_vector(8, static_cast<size_t>(n));
  const std::string_view header(reinterpret_cast<const char*>(header_bytes.data()), header_bytes.size());
  FULGUR_CHECK(is_valid_utf8(header), kLoadOp, where, ": header is not valid UTF-8");
  const Json doc = JsonParser(header, where).parse_document();
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = file_size - data_start;

  SafetensorsFile out;
  struct Range {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Range> ranges;
  std::vector<std::pair<Shape, DType>> layouts;  // allocated only once the ranges tile the data
  for (const Json& entry : doc.members) {
    const std::string& name = entry.key;
    const std::string what = "tensor " + printable_prefix(name);
    if (name == "__metadata__") {
      FULGUR_CHECK(entry.kind == Json::Kind::Object, kLoadOp, where, ": __metadata__ is not an object");
      for (const Json& v : entry.members) {
        const std::string& k = v.key;
        FULGUR_CHECK(v.kind == Json::Kind::String, kLoadOp, where, ": __metadata__ value of ",
                     printable_prefix(k), " is not a string");
        out.metadata.emplace_back(k, v.str);
      }
      continue;
    }
    FULGUR_CHECK(entry.kind == Json::Kind::Object, kLoadOp, where, ": ", what, " is not an object");
    const Json* dtype = nullptr;
    const Json* shape = nullptr;
    const Json* offsets = nullptr;
    for (const Json& v : entry.members) {
      const std::string& k = v.key;
      if (k == "dtype") {
        dtype = &v;
      } else if (k == "shape") {
        shape = &v;
      } else if (k == "data_offsets") {
        offsets = &v;
      } else {
        FULGUR_FAIL(kLoadOp, where, ": ", what, " has an unknown field ", printable_prefix(k));
      }
    }
    FULGUR_CHECK(dtype && shape && offsets, kLoadOp, where, ": ", what,
                 " needs \"dtype\", \"shape\" and \"data_offsets\"");
    FULGUR_CHECK(dtype->kind == Json::Kind::String, kLoadOp, where, ": ", what, ": dtype is not a string");
    const std::optional<DType> dt = dtype_of_safetensors(dtype->str);
    FULGUR_CHECK(dt.has_value(), kLoadOp, where, ": ", what, ": dtype ", printable_prefix(dtype->str),
                 " is not supported (BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64)");
    FULGUR_CHECK(shape->kind == Json::Kind::Array && shape->items.size() <= 64, kLoadOp, where, ": ", what,
                 ": shape is not a list of at most 64 sizes");
    Shape sizes;
    uint64_t numel = 1;
    for (const Json& d : shape->items) {
      FULGUR_CHECK(d.kind == Json::Kind::Integer && d.integer <= static_cast<uint64_t>(INT64_MAX), kLoadOp,
                   where, ": ", what, ": shape holds a non-integer or too large size");
      FULGUR_CHECK(!__builtin_mul_overflow(numel, d.integer, &numel), kLoadOp, where, ": ", what,
                   ": element count overflows");
      sizes.push_back(static_cast<int64_t>(d.integer));
    }
    uint64_t nbytes = 0;
    FULGUR_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(element_size(*dt)), &nbytes) &&
                     numel <= static_cast<uint64_t>(INT64_MAX),
                 kLoadOp, where, ": ", what, ": byte size overflows");
    FULGUR_CHECK(offsets->kind == Json::Kind::Array && offsets->items.size() == 2 &&
                     offsets->items[0].kind == Json::Kind::Integer &&
                     offsets->items[1].kind == Json::Kind::Integer,
                 kLoadOp, where, ": ", what, ": data_offsets is not [begin, end]");
    const uint64_t begin = offsets->items[0].integer, end = offsets->items[1].integer;
    FULGUR_CHECK(begin <= end && end <= data_size, kLoadOp, where, ": ", what, ": data_offsets [", begin, ", ",
                 end, "] are not inside the ", data_size, "-byte data section");
    FULGUR_CHECK(end - begin == nbytes, kLoadOp, where, ": ", what, ": data_offsets [", begin, ", ", end,
                 "] hold ", end - begin, " bytes, but ", dtype->str, " shape ", shape_string(sizes),
                 " needs ", nbytes);
    ranges.push_back({begin, end, out.tensors.size()});
    out.tensors.emplace_back(name, Tensor());
    layouts.emplace_back(std::move(sizes), *dt);
  }
  // The ranges, sorted, must tile [0, data_size) exactly.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const Range& r : ranges) {
    FULGUR_CHECK(r.begin == expect, kLoadOp, where, ": tensor ", printable_prefix(out.tensors[r.index].first),
                 " starts at data offset ", r.begin, " but the previous tensor ends at ", expect,
                 r.begin < expect ? " (overlap)" : " (gap)");
    expect = r.end;
  }
  FULGUR_CHECK(expect == data_size, kLoadOp, where, ": the tensors cover ", expect, " bytes of a ", data_size,
               "-byte data section (trailing bytes)");
  for (const Range& r : ranges) {
    Tensor& t = out.tensors[r.index].second;
    t = make_tensor(IntArrayRef(layouts[r.index].first), layouts[r.index].second, kCPU);
    if (r.end > r.begin) source->read(data_start + r.begin, t.data_ptr(), static_cast<size_t>(r.end - r.begin));
  }
  return out;
}

}  // namespace serialize

void save_safetensors(const NamedTensors& tensors, const std::string& path, const SafetensorsMetadata& metadata) {
  const serialize::Layout l = serialize::layout(tensors, metadata);
  serialize::AtomicFileWriter file(path, serialize::kSaveOp);
  file.write(l.header);
  for (const Tensor& t : l.data) file.write(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
  file.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  return serialize::load_safetensors_from(serialize::open_file(path, serialize::kLoadOp));
}

}  // namespace fulgur
