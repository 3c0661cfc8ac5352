// PyTorch's tensor repr (torch/_tensor_str.py with default print options: precision 4,
// threshold 1000, edgeitems 3, linewidth 80), so that printed tensors read the same in
// both worlds. tests/tensor_print_test.cc checks it against strings PyTorch printed.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

constexpr int kPrecision = 4;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr int64_t kLineWidth = 80;

std::string format_double(const char* fmt, int width, double v) {
  if (std::isnan(v)) {
    std::string s = "nan";
    return std::string(width > 3 ? width - 3 : 0, ' ') + s;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, width, kPrecision, v);
  return buf;
}

class Formatter {
 public:
  Formatter(const Tensor& sample) : floating_(sample.is_floating_point()), is_bool_(sample.dtype() == DType::Bool) {
    const Tensor flat = sample.reshape({-1});
    if (!floating_) {
      for (const auto& s : values_as_strings(flat)) width_ = std::max<int>(width_, static_cast<int>(s.size()));
      return;
    }
    std::vector<double> vals = flat.to_vector<double>();
    std::vector<double> finite_nonzero;
    for (double v : vals)
      if (std::isfinite(v) && v != 0) finite_nonzero.push_back(v);
    if (finite_nonzero.empty()) return;
    double lo = std::abs(finite_nonzero[0]), hi = lo;
    for (double v : finite_nonzero) {
      lo = std::min(lo, std::abs(v));
      hi = std::max(hi, std::abs(v));
      if (v != std::ceil(v)) int_mode_ = false;
    }
    if (int_mode_) {
      if (hi / lo > 1000.0 || hi > 1.0e8) {
        sci_mode_ = true;
        for (double v : finite_nonzero) width_ = std::max<int>(width_, static_cast<int>(format_double("%*.*e", 0, v).size()));
      } else {
        for (double v : finite_nonzero) {
          char buf[64];
          std::snprintf(buf, sizeof(buf), "%.0f", v);
          width_ = std::max<int>(width_, static_cast<int>(std::string(buf).size()) + 1);
        }
      }
    } else {
      sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8 || lo < 1.0e-4;
      for (double v : finite_nonzero) {
        width_ = std::max<int>(width_, static_cast<int>(format_double(sci_mode_ ? "%*.*e" : "%*.*f", 0, v).size()));
      }
    }
  }

  int width() const { return width_; }

  std::string format(const Tensor& element) const {
    std::string s;
    if (!floating_) {
      s = values_as_strings(element.reshape({1}))[0];
    } else {
      const double v = element.item<double>();
      if (sci_mode_) {
        s = format_double("%*.*e", width_, v);
      } else if (int_mode_) {
        if (std::isnan(v)) {
          s = "nan";
        } else {
          char buf[64];
          std::snprintf(buf, sizeof(buf), "%.0f", v);
          s = buf;
          if (std::isfinite(v)) s += ".";
        }
      } else {
        s = format_double("%*.*f", 0, v);
      }
    }
    if (static_cast<int>(s.size()) < width_) s = std::string(width_ - s.size(), ' ') + s;
    return s;
  }

 private:
  std::vector<std::string> values_as_strings(const Tensor& flat) const {
    std::vector<std::string> out;
    if (is_bool_) {
      for (bool b : flat.to_vector<uint8_t>()) out.push_back(b ? "True" : "False");
    } else {
      for (int64_t v : flat.to_vector<int64_t>()) out.push_back(std::to_string(v));
    }
    return out;
  }

  bool floating_;
  bool is_bool_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  int width_ = 1;
};

Tensor summarized(const Tensor& t) {
  if (t.dim() == 0) return t;
  if (t.dim() == 1) {
    if (t.size(0) > 2 * kEdgeItems) return cat({t.slice(0, 0, kEdgeItems), t.slice(0, -kEdgeItems)});
    return t;
  }
  std::vector<Tensor> rows;
  const int64_t n = t.size(0);
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdgeItems && i >= kEdgeItems && i < n - kEdgeItems) continue;
    rows.push_back(summarized(t[i]));
  }
  return stack(rows);
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) s += sep;
    s += parts[i];
  }
  return s;
}

std::string vector_str(const Tensor& t, int64_t indent, bool summarize, const Formatter& f) {
  const int64_t element_length = f.width() + 2;
  const int64_t per_line = std::max<int64_t>(1, (kLineWidth - indent) / element_length);
  std::vector<std::string> data;
  const int64_t n = t.size(0);
  if (summarize && n > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) data.push_back(f.format(t[i]));
    data.push_back(" ...");
    for (int64_t i = n - kEdgeItems; i < n; ++i) data.push_back(f.format(t[i]));
  } else {
    for (int64_t i = 0; i < n; ++i) data.push_back(f.format(t[i]));
  }
  std::vector<std::string> lines;
  for (size_t i = 0; i < data.size(); i += static_cast<size_t>(per_line)) {
    std::vector<std::string> line(data.begin() + static_cast<int64_t>(i),
                                  data.begin() + static_cast<int64_t>(std::min(data.size(), i + static_cast<size_t>(per_line))));
    lines.push_back(join(line, ", "));
  }
  return "[" + join(lines, ",\n" + std::string(static_cast<size_t>(indent + 1), ' ')) + "]";
}

std::string tensor_str(const Tensor& t, int64_t indent, bool summarize, const Formatter& f) {
  if (t.dim() == 0) return f.format(t);
  if (t.dim() == 1) return vector_str(t, indent, summarize, f);
  std::vector<std::string> slices;
  const int64_t n = t.size(0);
  if (summarize && n > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) slices.push_back(tensor_str(t[i], indent + 1, summarize, f));
    slices.push_back("...");
    for (int64_t i = n - kEdgeItems; i < n; ++i) slices.push_back(tensor_str(t[i], indent + 1, summarize, f));
  } else {
    for (int64_t i = 0; i < n; ++i) slices.push_back(tensor_str(t[i], indent + 1, summarize, f));
  }
  const std::string sep = "," + std::string(static_cast<size_t>(t.dim() - 1), '\n') +
                          std::string(static_cast<size_t>(indent + 1), ' ');
  return "[" + join(slices, sep) + "]";
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  const std::string prefix = "tensor(";
  const int64_t indent = static_cast<int64_t>(prefix.size());
  std::vector<std::string> suffixes;
  if (!device().is_cpu()) suffixes.push_back("device='" + device().str() + "'");
  const bool default_dtype = dtype() == DType::Float32 || dtype() == DType::Int64 || dtype() == DType::Bool;
  std::string body;
  if (numel() == 0) {
    if (dim() != 1) {
      std::vector<std::string> dims;  // Python's tuple repr: (2, 0)
      for (int64_t d = 0; d < dim(); ++d) dims.push_back(std::to_string(sizes()[d]));
      suffixes.push_back("size=(" + join(dims, ", ") + ")");
    }
    if (dtype() != DType::Float32) suffixes.push_back("dtype=torch." + std::string(dtype_name(dtype())));
    body = "[]";
  } else {
    if (!default_dtype) suffixes.push_back("dtype=torch." + std::string(dtype_name(dtype())));
    const Tensor host = (dtype() == DType::Float16 || dtype() == DType::BFloat16) ? to(kCPU).to(DType::Float32) : to(kCPU);
    const bool summarize = numel() > kThreshold;
    const Formatter formatter(summarize ? summarized(host) : host);
    body = tensor_str(host, indent, summarize, formatter);
  }
  std::string out = prefix + body;
  // Python's len(s) - s.rfind("\n") + 1, where rfind gives -1 for no newline.
  const size_t newline = out.rfind('\n');
  const int64_t newline_pos = newline == std::string::npos ? -1 : static_cast<int64_t>(newline);
  int64_t last_line_len = static_cast<int64_t>(out.size()) - newline_pos + 1;
  for (const std::string& suffix : suffixes) {
    const int64_t len = static_cast<int64_t>(suffix.size());
    if (last_line_len + len + 2 > kLineWidth) {
      out += ",\n" + std::string(static_cast<size_t>(indent), ' ') + suffix;
      last_line_len = indent + len;
    } else {
      out += ", " + suffix;
      last_line_len += len + 2;
    }
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace fulgur
