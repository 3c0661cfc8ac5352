// data::CombinedLoader: Lightning's four modes (lengths, item shapes, cycling, None for an
// exhausted loader, sequential tuples), names, passes, and its errors. Loader a yields the
// batches [0,1], [2,3], [4]; loader b yields [10,11], ..., [18,19] (5 batches).
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "fulgur/data/combined_loader.h"
#include "fulgur/data/tensor_dataset.h"
#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/tensor.h"

using namespace fulgur;
using data::CombinedLoader;
using data::DataLoader;

namespace {

std::shared_ptr<DataLoader> range_loader(int64_t start, int64_t n) {
  Tensor x = arange(start, start + n);
  return std::make_shared<DataLoader>(data::TensorDataset(x), data::DataLoaderOptions{.batch_size = 2});
}

// The first element of each batch's single tensor (a batch of TensorDataset(x) is [x_batch]).
std::vector<int64_t> firsts(const Value& batch) { return batch[0].as_tensor().to_vector<int64_t>(); }

}  // namespace

TEST_CASE("max_size_cycle: as long as the longest loader, a shorter one starts over") {
  auto a = range_loader(0, 5), b = range_loader(10, 10);
  CombinedLoader combined({a, b});
  CHECK(combined.size() == 5);
  CHECK(combined.mode() == "max_size_cycle");
  std::vector<std::vector<int64_t>> seen_a, seen_b;
  for (const Value& item : combined.loader()) {
    REQUIRE(item.is_list());
    REQUIRE(item.as_list().size() == 2);
    seen_a.push_back(firsts(item.as_list()[0]));
    seen_b.push_back(firsts(item.as_list()[1]));
  }
  CHECK(seen_a == std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}, {0, 1}, {2, 3}});
  CHECK(seen_b == std::vector<std::vector<int64_t>>{{10, 11}, {12, 13}, {14, 15}, {16, 17}, {18, 19}});
}

TEST_CASE("max_size: an exhausted loader gives None; min_size stops at the shortest") {
  auto a = range_loader(0, 5), b = range_loader(10, 10);
  CombinedLoader longest({{"a", a}, {"b", b}}, "max_size");
  CHECK(longest.size() == 5);
  int i = 0;
  for (const Value& item : longest.loader()) {
    REQUIRE(item.is_dict());
    CHECK(item.at("a").is_none() == (i >= 3));
    CHECK(firsts(item.at("b"))[0] == 10 + 2 * i);
    ++i;
  }
  CHECK(i == 5);

  CombinedLoader shortest({{"a", a}, {"b", b}}, "min_size");
  CHECK(shortest.size() == 3);
  i = 0;
  for (const Value& item : shortest.loader()) {
    CHECK(firsts(item.at("a"))[0] == 2 * i);
    CHECK(firsts(item.at("b"))[0] == 10 + 2 * i);
    ++i;
  }
  CHECK(i == 3);
}

TEST_CASE("sequential: the loaders one after another as (batch, batch_idx, dataloader_idx)") {
  auto a = range_loader(0, 5), b = range_loader(10, 4);
  CombinedLoader combined({a, b}, "sequential");
  CHECK(combined.size() == 5);
  std::vector<std::vector<int64_t>> got;  // {first value, batch_idx, dataloader_idx}
  for (const Value& item : combined.loader()) {
    REQUIRE(item.is_tuple());
    got.push_back({firsts(item.as_tuple()[0])[0], item.as_tuple()[1].as_int(), item.as_tuple()[2].as_int()});
  }
  CHECK(got == std::vector<std::vector<int64_t>>{{0, 0, 0}, {2, 1, 0}, {4, 2, 0}, {10, 0, 1}, {12, 1, 1}});
}

TEST_CASE("each pass of the combined loader starts its loaders afresh") {
  auto a = range_loader(0, 3), b = range_loader(10, 6);
  CombinedLoader combined({a, b});
  DataLoader loader = combined.loader();
  CHECK(loader.size() == 3);
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<int64_t> seen;
    for (const Value& item : loader) seen.push_back(firsts(item.as_list()[0])[0]);
    CHECK(seen == std::vector<int64_t>{0, 2, 0});
  }
}

TEST_CASE("CombinedLoader's errors") {
  auto a = range_loader(0, 5);
  CHECK_THROWS_WITH_AS(CombinedLoader({a}, "max_len"),
                       doctest::Contains("Unsupported mode 'max_len', please select one of: ['min_size', "
                                         "'max_size_cycle', 'max_size', 'sequential']"),
                       Error);
  CHECK_THROWS_WITH_AS(CombinedLoader(std::vector<std::shared_ptr<DataLoader>>{}), doctest::Contains("no loaders"),
                       Error);
  auto empty = std::make_shared<DataLoader>(data::TensorDataset(arange(0, 0)), data::DataLoaderOptions{.batch_size = 2});
  CHECK_THROWS_WITH_AS(CombinedLoader({{"a", a}, {"e", empty}}), doctest::Contains("loader 'e' has no batches"), Error);
  CHECK(CombinedLoader({{"a", a}, {"e", empty}}, "max_size").size() == 3);
  CHECK_THROWS_WITH_AS(CombinedLoader({{"a", a}, {"a", a}}), doctest::Contains("'a' is given twice"), Error);
}
