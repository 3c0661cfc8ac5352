// CSVDataset on arbitrary text, with a header and a named target, and without a header with
// an integer target by index.
#include "fulgur/data/csv_dataset.h"
#include "fulgur/tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fulgur::data::CSVDataset;
  const auto src = fulgur::serialize::borrowed_source("fuzz.csv", data, size);
  fulgur::fuzz::expect_only_errors([&] {
    CSVDataset ds(*src, {.target = "y"});
    if (ds.size() > 0) ds.get(ds.size() - 1);
  });
  fulgur::fuzz::expect_only_errors([&] {
    CSVDataset ds(*src, {.header = false, .target = 0, .delimiter = ';', .target_dtype = fulgur::kInt64});
    if (ds.size() > 0) ds.get(0);
  });
  return 0;
}
