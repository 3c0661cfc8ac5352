// CSVDataset: a table of numbers in a text file, one example per row: (features, target).
//
//   CSVDataset ds("iris.csv", {.target = "species"});       // header row, target by name
//   CSVDataset ds("x.tsv", {.header = false, .target = 0, .delimiter = '\t'});
//   auto [x, y] = ds.get(3).as_tuple() ...                  // x: float32 [C-1], y: 0-dim
//
// Format: one row per line ('\n' or "\r\n"), cells split at `delimiter`, spaces around a cell
// ignored, a cell may be wrapped in double quotes. Every cell of a data row must be a number
// (decimal or exponent notation, "nan", "inf"); empty lines are skipped. With `header`, the
// first line names the columns. The target column (by name or index, negative from the end;
// default: the last column) is split off; the other columns, in file order, are the features.
//
// The whole file is parsed in the constructor; a ragged row, a non-numeric or empty cell, or
// a bad target throws fulgur::Error("csv: '<file>': line L, column C ('name'): <problem>")
// and no dataset is made. get(i) returns the tuple (features [C-1] float32, target 0-dim
// tensor of target_dtype); get_batch gathers [B, C-1] and [B] directly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "fulgur/data/dataset.h"
#include "fulgur/serialize/byte_source.h"

namespace fulgur::data {

struct CSVOptions {
  bool header = true;
  // Column name (needs header) or index (negative counts from the end).
  std::variant<int64_t, std::string> target = int64_t{-1};
  char delimiter = ',';
  // float32 or float64 for regression; an integer dtype (int64: class labels) requires every
  // target cell to be an integer.
  DType target_dtype = kFloat32;
  DType feature_dtype = kFloat32;  // a floating dtype
};

class CSVDataset : public Dataset {
 public:
  CSVDataset(const std::string& path, CSVOptions options = {});
  CSVDataset(const serialize::ByteSource& source, CSVOptions options = {});

  int64_t size() const override { return features_.size(0); }
  Value get(int64_t index) const override;
  std::optional<Value> get_batch(std::span<const int64_t> indices) const override;

  const Tensor& features() const { return features_; }  // [N, C-1]
  const Tensor& targets() const { return targets_; }    // [N]
  // All column names in file order ("0", "1", ... without a header), and the feature ones.
  const std::vector<std::string>& columns() const { return columns_; }
  std::vector<std::string> feature_names() const;
  const std::string& target_name() const { return columns_[target_column_]; }

 private:
  void parse(const serialize::ByteSource& source, const CSVOptions& options);

  Tensor features_;
  Tensor targets_;
  std::vector<std::string> columns_;
  size_t target_column_ = 0;
};

}  // namespace fulgur::data
