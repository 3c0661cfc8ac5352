#include "fulgur/data/csv_dataset.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::data {
namespace {

// Splits one line into cells: quoted cells may contain the delimiter ("" is a quote); spaces
// around a cell are dropped. Returns false (and the offending column) on an unclosed quote.
bool split_line(std::string_view line, char delim, std::vector<std::string>& cells) {
  cells.clear();
  std::string cell;
  size_t i = 0;
  const auto is_space = [&](char c) { return (c == ' ' || c == '\t') && c != delim; };
  for (;;) {
    while (i < line.size() && is_space(line[i])) ++i;
    cell.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        cell += line[i++];
      }
      if (!closed) {
        cells.push_back(cell);
        return false;
      }
      while (i < line.size() && is_space(line[i])) ++i;
      // Text between the closing quote and the delimiter makes the cell invalid; keep it so
      // the number parser reports it.
      while (i < line.size() && line[i] != delim) cell += line[i++];
    } else {
      while (i < line.size() && line[i] != delim) cell += line[i++];
      while (!cell.empty() && is_space(cell.back())) cell.pop_back();
    }
    cells.push_back(cell);
    if (i >= line.size()) return true;
    ++i;  // the delimiter
  }
}

bool parse_double(std::string_view s, double& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_int(std::string_view s, int64_t& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc() && p == s.data() + s.size()) return true;
  double d;
  // "3.0" or "1e3" are integers too.
  if (!parse_double(s, d) || !std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 9.2e18) return false;
  out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

CSVDataset::CSVDataset(const std::string& path, CSVOptions options) {
  parse(*serialize::open_file(path, "csv"), options);
}

CSVDataset::CSVDataset(const serialize::ByteSource& source, CSVOptions options) {
  parse(source, options);
}

void CSVDataset::parse(const serialize::ByteSource& src, const CSVOptions& o) {
  const std::string& file = src.name();
  FULGUR_CHECK(o.delimiter != '"' && o.delimiter != '\n' && o.delimiter != '\r', "csv", "'", file,
               "': the delimiter cannot be a quote or a line break");
  FULGUR_CHECK(o.feature_dtype == kFloat32 || o.feature_dtype == kFloat64, "csv", "'", file,
               "': feature_dtype must be float32 or float64, got ", o.feature_dtype);
  const bool int_target = o.target_dtype == kInt64 || o.target_dtype == kInt32;
  FULGUR_CHECK(int_target || o.target_dtype == kFloat32 || o.target_dtype == kFloat64, "csv", "'", file,
               "': target_dtype must be float32, float64, int32 or int64, got ", o.target_dtype);

  std::string text(static_cast<size_t>(src.size()), '\0');
  src.read(0, text.data(), text.size());

  std::vector<double> feats;
  std::vector<double> tgt_f;
  std::vector<int64_t> tgt_i;
  std::vector<std::string> cells;
  size_t ncols = 0;
  bool have_layout = false;
  int64_t rows = 0;
  size_t line_no = 0;
  size_t pos = 0;

  auto col_desc = [&](size_t c) {
    std::string d = "column " + std::to_string(c + 1);
    if (o.header && c < columns_.size()) d += " ('" + printable(columns_[c]) + "')";
    return d;
  };
  auto resolve_target = [&]() {
    if (const auto* name = std::get_if<std::string>(&o.target)) {
      FULGUR_CHECK(o.header, "csv", "'", file, "': target column '", *name,
                   "' given by name but header = false (give an index instead)");
      for (size_t c = 0; c < columns_.size(); ++c)
        if (columns_[c] == *name) return c;
      std::string names;
      for (const auto& c : columns_) names += (names.empty() ? "'" : ", '") + printable(c) + "'";
      FULGUR_FAIL("csv", "'", file, "': no column named '", *name, "'; the header has ", names);
    }
    int64_t idx = std::get<int64_t>(o.target);
    const int64_t n = static_cast<int64_t>(ncols);
    FULGUR_CHECK(idx >= -n && idx < n, "csv", "'", file, "': target column index ", idx,
                 " is out of range for ", n, " columns");
    return static_cast<size_t>(idx < 0 ? idx + n : idx);
  };

  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
    const std::string where = "'" + file + "': line " + std::to_string(line_no);
    FULGUR_CHECK(line.find('\0') == std::string_view::npos, "csv", where,
                 ": NUL byte in the line (binary file?)");
    const bool closed = split_line(line, o.delimiter, cells);
    FULGUR_CHECK(closed, "csv", where, ", ", col_desc(cells.size() - 1), ": unclosed quote");

    if (!have_layout) {
      have_layout = true;
      ncols = cells.size();
      FULGUR_CHECK(ncols >= 2, "csv", where, ": found ", ncols,
                   " column; need at least 2 (features and a target); wrong delimiter? (using '",
                   printable(std::string_view(&o.delimiter, 1)), "')");
      if (o.header) {
        columns_ = cells;
        target_column_ = resolve_target();
        continue;
      }
      for (size_t c = 0; c < ncols; ++c) columns_.push_back(std::to_string(c));
      target_column_ = resolve_target();
    }
    FULGUR_CHECK(cells.size() == ncols, "csv", where, ": has ", cells.size(), " columns, expected ",
                 ncols, o.header ? " (as in the header)" : " (as in the first row)");
    for (size_t c = 0; c < ncols; ++c) {
      const std::string& cell = cells[c];
      FULGUR_CHECK(!cell.empty(), "csv", where, ", ", col_desc(c), ": empty cell (missing values are not supported)");
      if (c == target_column_ && int_target) {
        int64_t v;
        FULGUR_CHECK(parse_int(cell, v), "csv", where, ", ", col_desc(c), ": target '", printable(cell),
                     "' is not an integer (target_dtype is ", o.target_dtype, ")");
        FULGUR_CHECK(o.target_dtype == kInt64 || (v >= INT32_MIN && v <= INT32_MAX), "csv", where, ", ",
                     col_desc(c), ": target ", v, " does not fit int32");
        tgt_i.push_back(v);
        continue;
      }
      double v;
      FULGUR_CHECK(parse_double(cell, v), "csv", where, ", ", col_desc(c), ": cannot parse '",
                   printable(cell), "' as a number");
      if (c == target_column_) tgt_f.push_back(v);
      else feats.push_back(v);
    }
    ++rows;
  }
  FULGUR_CHECK(have_layout, "csv", "'", file, "': the file has no rows");

  const int64_t nf = static_cast<int64_t>(ncols - 1);
  features_ = from_vector(feats, Shape{rows, nf}).to(o.feature_dtype);
  targets_ = int_target ? from_vector(tgt_i, Shape{rows}).to(o.target_dtype)
                        : from_vector(tgt_f, Shape{rows}).to(o.target_dtype);
}

std::vector<std::string> CSVDataset::feature_names() const {
  std::vector<std::string> out;
  for (size_t c = 0; c < columns_.size(); ++c)
    if (c != target_column_) out.push_back(columns_[c]);
  return out;
}

Value CSVDataset::get(int64_t index) const {
  FULGUR_CHECK(index >= 0 && index < size(), "CSVDataset::get", "index ", index,
               " is out of range for a dataset of size ", size());
  return Value::tuple({features_[index].clone(), targets_[index].clone()});
}

std::optional<Value> CSVDataset::get_batch(std::span<const int64_t> indices) const {
  for (const int64_t i : indices)
    FULGUR_CHECK(i >= 0 && i < size(), "CSVDataset::get_batch", "index ", i,
                 " is out of range for a dataset of size ", size());
  const Tensor idx = from_vector(std::vector<int64_t>(indices.begin(), indices.end()));
  return Value::tuple({features_.index_select(0, idx), targets_.index_select(0, idx)});
}

}  // namespace fulgur::data
