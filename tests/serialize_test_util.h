// Helpers shared by the serialize_* tests: deep comparison of Value trees (tensors compared
// by dtype, sizes, strides, offset and element bytes read straight from memory), temporary
// paths (file reading is in test_util.h).
#pragma once

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"

namespace fulgur::testing {

inline std::string tmp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// Element bytes of t in row-major order, read through sizes and strides.
inline std::string element_bytes(const Tensor& t) {
  std::string out;
  const size_t es = t.element_size();
  for_each_index(t.sizes(), [&](const std::vector<int64_t>& i) { out.append(element_address(t, i), es); });
  return out;
}

// Why a and b differ ("" if they are the same tree). Tensors: same dtype, sizes, strides,
// storage offset, requires_grad and element bytes (so NaNs and -0.0 compare exactly).
inline std::string value_difference(const Value& a, const Value& b, const std::string& where = "root") {
  if (a.kind() != b.kind()) return where + ": " + a.type_name() + " vs " + b.type_name();
  switch (a.kind()) {
    case Value::Kind::None: return "";
    case Value::Kind::Bool: return a.as_bool() == b.as_bool() ? "" : where + ": bool differs";
    case Value::Kind::Int: return a.as_int() == b.as_int() ? "" : where + ": int differs";
    case Value::Kind::Double: {
      const double x = a.as_double(), y = b.as_double();
      return std::memcmp(&x, &y, sizeof x) == 0 ? "" : where + ": float differs";
    }
    case Value::Kind::String: return a.as_string() == b.as_string() ? "" : where + ": str differs";
    case Value::Kind::Tensor: {
      const Tensor& x = a.as_tensor();
      const Tensor& y = b.as_tensor();
      if (x.dtype() != y.dtype()) return where + ": dtype differs";
      if (!(x.sizes() == y.sizes())) return where + ": sizes differ";
      if (!(x.strides() == y.strides())) return where + ": strides differ";
      if (x.storage_offset() != y.storage_offset()) return where + ": offset differs";
      if (x.requires_grad() != y.requires_grad()) return where + ": requires_grad differs";
      return element_bytes(x) == element_bytes(y) ? "" : where + ": elements differ";
    }
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      if (a.size() != b.size()) return where + ": lengths differ";
      for (size_t i = 0; i < a.size(); ++i) {
        std::string d = value_difference(a[i], b[i], where + "[" + std::to_string(i) + "]");
        if (!d.empty()) return d;
      }
      return "";
    }
    case Value::Kind::Dict: {
      if (a.size() != b.size()) return where + ": dict sizes differ";
      for (size_t i = 0; i < a.items().size(); ++i) {
        const auto& [ka, va] = a.items()[i];
        const auto& [kb, vb] = b.items()[i];
        if (!(ka == kb)) return where + ": key " + ka.repr() + " vs " + kb.repr();
        std::string d = value_difference(va, vb, where + "[" + ka.repr() + "]");
        if (!d.empty()) return d;
      }
      return "";
    }
  }
  return where + ": unknown kind";
}

}  // namespace fulgur::testing
