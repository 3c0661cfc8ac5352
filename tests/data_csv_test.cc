// data::CSVDataset: header, target by name or index, delimiters, quoting, blank lines, CRLF,
// and errors naming the file, line and column.
#include <fstream>

#include "fulgur/tests/test_util.h"

using namespace fulgur;
using namespace fulgur::data;

namespace {

CSVDataset from_text(const std::string& text, CSVOptions o = {}) {
  return CSVDataset(*serialize::memory_source("t.csv", std::vector<uint8_t>(text.begin(), text.end())), o);
}

std::string error_of(const std::string& text, CSVOptions o = {}) {
  try {
    from_text(text, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("CSVDataset: header, target by name, spaces, blank lines, CRLF") {
  CSVDataset ds("tests/data/csv/iris_like.csv", {.target = "species", .target_dtype = kInt64});
  CHECK(ds.size() == 4);
  CHECK(ds.columns() == std::vector<std::string>{"sepal_length", "sepal_width", "petal_length", "species"});
  CHECK(ds.feature_names() == std::vector<std::string>{"sepal_length", "sepal_width", "petal_length"});
  CHECK(ds.target_name() == "species");
  CHECK(ds.features().dtype() == kFloat32);
  CHECK(ds.features().sizes() == IntArrayRef({4, 3}));
  CHECK(ds.features().to_vector<float>() ==
        std::vector<float>{5.1f, 3.5f, 1.4f, 4.9f, 3.0f, 1.4f, 6.3f, 3.3f, 6.0f, 5.8f, 2.7f, 5.1f});
  CHECK(ds.targets().dtype() == kInt64);
  CHECK(ds.targets().to_vector<int64_t>() == std::vector<int64_t>{0, 0, 2, 1});

  const Value ex = ds.get(2);
  REQUIRE(ex.is_tuple());
  CHECK(ex[0].as_tensor().sizes() == IntArrayRef({3}));
  CHECK(ex[0].as_tensor().to_vector<float>() == std::vector<float>{6.3f, 3.3f, 6.0f});
  CHECK(ex[1].as_tensor().dim() == 0);
  CHECK(ex[1].as_tensor().item<int64_t>() == 2);

  const std::vector<int64_t> idx = {3, 0};
  const Value b = *ds.get_batch(idx);
  CHECK(b[0].as_tensor().sizes() == IntArrayRef({2, 3}));
  CHECK(b[0].as_tensor().to_vector<float>() == std::vector<float>{5.8f, 2.7f, 5.1f, 5.1f, 3.5f, 1.4f});
  CHECK(b[1].as_tensor().to_vector<int64_t>() == std::vector<int64_t>{1, 0});
  CHECK_THROWS_WITH_AS(ds.get(4), "CSVDataset::get: index 4 is out of range for a dataset of size 4", Error);
}

TEST_CASE("CSVDataset: no header, target by index, tab delimiter, float target") {
  CSVDataset ds("tests/data/csv/no_header.tsv", {.header = false, .target = 0, .delimiter = '\t'});
  CHECK(ds.size() == 2);
  CHECK(ds.columns() == std::vector<std::string>{"0", "1", "2"});
  CHECK(ds.features().to_vector<float>() == std::vector<float>{2, 3, 5, 6});
  CHECK(ds.targets().dtype() == kFloat32);
  CHECK(ds.targets().to_vector<float>() == std::vector<float>{1, 4});
  // Default target: the last column.
  CSVDataset last("tests/data/csv/no_header.tsv", {.header = false, .delimiter = '\t'});
  CHECK(last.targets().to_vector<float>() == std::vector<float>{3, 6});
  CSVDataset neg("tests/data/csv/no_header.tsv", {.header = false, .target = -2, .delimiter = '\t',
                                                  .target_dtype = kFloat64, .feature_dtype = kFloat64});
  CHECK(neg.targets().to_vector<double>() == std::vector<double>{2, 5});
  CHECK(neg.features().dtype() == kFloat64);
}

TEST_CASE("CSVDataset: quoted cells, exponents, nan/inf, integral targets written as floats") {
  CSVDataset q("tests/data/csv/quoted.csv");
  CHECK(q.columns() == std::vector<std::string>{"a", "b, with comma", "y"});
  CHECK(q.features().to_vector<float>() == std::vector<float>{1.5f, -2000.f});
  CSVDataset t = from_text("x,y\n+1,2.0\nnan,1e1\ninf,-3\n", {.target_dtype = kInt64});
  CHECK(t.targets().to_vector<int64_t>() == std::vector<int64_t>{2, 10, -3});
  const auto f = t.features().to_vector<float>();
  CHECK(f[0] == 1.f);
  CHECK(std::isnan(f[1]));
  CHECK(std::isinf(f[2]));
  CHECK(from_text("a,b\n").size() == 0);  // header only
}

TEST_CASE("CSVDataset: errors name the file, line and column") {
  CHECK_THROWS_WITH_AS(CSVDataset("tests/data/csv/bad_ragged.csv"),
                       "csv: 'tests/data/csv/bad_ragged.csv': line 3: has 2 columns, expected 3 (as in the header)",
                       Error);
  CHECK_THROWS_WITH_AS(CSVDataset("tests/data/csv/bad_text.csv"),
                       "csv: 'tests/data/csv/bad_text.csv': line 3, column 2 ('b'): cannot parse 'five' as a number",
                       Error);
  CHECK(error_of("1,2\n3,x\n", {.header = false}) == "csv: 't.csv': line 2, column 2: cannot parse 'x' as a number");
  CHECK(error_of("a,b\n1,\n") ==
        "csv: 't.csv': line 2, column 2 ('b'): empty cell (missing values are not supported)");
  CHECK(error_of("a,b\n\"1,2\n") == "csv: 't.csv': line 2, column 1 ('a'): unclosed quote");
  CHECK(error_of("a,b\n1,2.5\n", {.target_dtype = kInt64}) ==
        "csv: 't.csv': line 2, column 2 ('b'): target '2.5' is not an integer (target_dtype is int64)");
  CHECK(error_of("a,b\n1,3e9\n", {.target_dtype = kInt32}) ==
        "csv: 't.csv': line 2, column 2 ('b'): target 3000000000 does not fit int32");
  CHECK(error_of("a;b\n1;2\n") ==
        "csv: 't.csv': line 1: found 1 column; need at least 2 (features and a target); wrong delimiter? (using ',')");
  CHECK(error_of("a,b\n1,2\n", {.target = "c"}) == "csv: 't.csv': no column named 'c'; the header has 'a', 'b'");
  CHECK(error_of("1,2\n", {.header = false, .target = "a"}) ==
        "csv: 't.csv': target column 'a' given by name but header = false (give an index instead)");
  CHECK(error_of("a,b\n1,2\n", {.target = 2}) == "csv: 't.csv': target column index 2 is out of range for 2 columns");
  CHECK(error_of("") == "csv: 't.csv': the file has no rows");
  CHECK(error_of(std::string("a,b\n1,\0", 7)) == "csv: 't.csv': line 2: NUL byte in the line (binary file?)");
  CHECK(error_of("a,b\n1,2\n", {.target_dtype = kBool}) ==
        "csv: 't.csv': target_dtype must be float32, float64, int32 or int64, got bool");
  CHECK_THROWS_WITH_AS(CSVDataset("tests/data/csv/none.csv"),
                       "csv: 'tests/data/csv/none.csv': cannot open: No such file or directory", Error);
}
