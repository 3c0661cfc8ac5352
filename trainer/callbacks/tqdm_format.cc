// tqdm's formatting (std/tqdm.py: format_interval, format_num, format_meter, Bar) and
// Lightning's Tqdm.format_num padding, reproduced character for character.
#include "fulgur/trainer/callbacks/tqdm_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "fulgur/nn/module.h"

namespace fulgur::lightning::callbacks::tqdm_format {

namespace {

constexpr size_t kPadSize = 5;  // Lightning's _PAD_SIZE

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

std::string strip(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\n\r\f\v");
  return s.substr(b, e - b + 1);
}

// tqdm.format_num: '{0:.3g}' with the exponent's leading zero dropped, unless Python's str(n) is as short.
std::string tqdm_format_num(double v, const std::string& python_str) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  std::string f = buf;
  replace_all(f, "e+0", "e+");
  replace_all(f, "e-0", "e-");
  return f.size() < python_str.size() ? f : python_str;
}

// Python's float(s) succeeds: a number, "inf" or "nan" (what format_num can produce).
bool parses_as_float(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// The first `width` code points of s.
std::string trim_display(const std::string& s, size_t width) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80) {
      if (count == width) return s.substr(0, i);
      ++count;
    }
  }
  return s;
}

}  // namespace

size_t display_length(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string interval(double seconds) {
  const auto t = static_cast<int64_t>(seconds);  // Python's int(): truncation
  const int64_t s = t % 60, mins = t / 60, m = mins % 60, h = mins / 60;
  char buf[48];
  if (h != 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  }
  return buf;
}

std::string number(const Value& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_bool()) return v.as_bool() ? "1" : "0";  // Python: a bool is an int
  if (v.is_int()) return tqdm_format_num(static_cast<double>(v.as_int()), std::to_string(v.as_int()));
  std::string n = tqdm_format_num(v.as_double(), nn::repr_float(v.as_double()));
  if (n.find('e') != std::string::npos) return n;
  if (n.find('.') == std::string::npos && n.size() < kPadSize) {
    if (!parses_as_float(n)) return n;
    n += ".";
  }
  if (n.size() < kPadSize) n += std::string(kPadSize - n.size(), '0');
  return n;
}

std::string postfix(const ProgressBarMetrics& metrics) {
  std::string out;
  for (const auto& [key, value] : metrics) {
    std::string text;
    if (value.is_string() || value.is_number() || value.is_bool()) {
      text = number(value);
    } else {
      std::ostringstream s;
      s << value;
      text = s.str();
    }
    out += (out.empty() ? "" : ", ") + key + "=" + strip(text);
  }
  return out;
}

std::string bar(double frac, int64_t width) {
  static const char* const kCharset[] = {" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"};
  constexpr int64_t kSyms = 8;
  frac = std::clamp(frac, 0.0, 1.0);
  // tqdm: divmod(int(frac * N_BARS * nsyms), nsyms), evaluated left to right.
  const auto eighths = static_cast<int64_t>(frac * static_cast<double>(width) * static_cast<double>(kSyms));
  const int64_t full = eighths / kSyms, part = eighths % kSyms;
  std::string out;
  for (int64_t i = 0; i < full; ++i) out += kCharset[kSyms];
  if (full < width) {
    out += kCharset[part];
    out += std::string(static_cast<size_t>(width - full - 1), ' ');
  }
  return out;
}

std::string meter(const Meter& m, int64_t ncols) {
  const std::string elapsed_str = interval(m.elapsed);
  const double rate = m.elapsed > 0 ? static_cast<double>(m.n) / m.elapsed : 0.0;
  std::string rate_fmt = "?it/s";
  if (rate != 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%5.2fit/s", rate);
    rate_fmt = buf;
  }
  const std::string post = m.postfix.empty() ? "" : ", " + m.postfix;
  std::string prefix;
  if (!m.desc.empty()) {
    prefix = m.desc.size() >= 2 && m.desc.compare(m.desc.size() - 2, 2, ": ") == 0 ? m.desc : m.desc + ": ";
  }
  // Unknown total: tqdm keeps the layout with a blank bar, "?" for the total and no percentage.
  const bool known = m.total > 0;
  const double frac = known ? static_cast<double>(m.n) / static_cast<double>(m.total) : 0.0;
  std::string remaining = "?";
  if (rate != 0) remaining = interval(known ? static_cast<double>(m.total - m.n) / rate : 0.0);
  std::string l_bar = prefix;
  if (known) {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%3.0f%%", frac * 100);
    l_bar += pct;
  }
  l_bar += "|";
  const std::string r_bar = "| " + std::to_string(m.n) + "/" + (known ? std::to_string(m.total) : "?") + " [" +
                            elapsed_str + "<" + remaining + ", " + rate_fmt + post + "]";
  const int64_t width =
      ncols > 0 ? std::max<int64_t>(1, ncols - static_cast<int64_t>(display_length(l_bar) + display_length(r_bar)))
                : 10;
  const std::string res = l_bar + (known ? bar(frac, width) : std::string(static_cast<size_t>(width), ' ')) + r_bar;
  return ncols > 0 ? trim_display(res, static_cast<size_t>(ncols)) : res;
}

}  // namespace fulgur::lightning::callbacks::tqdm_format
