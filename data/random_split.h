// random_split: non-overlapping random Subsets of given lengths
// (torch.utils.data.random_split).
//
// `lengths` are sizes summing to dataset->size(), or fractions summing to 1: then each part
// gets floor(n * fraction) and the remaining examples go one each to parts 0, 1, 2, ... in
// turn, as in PyTorch. The split is one randperm of the dataset from `generator`
// (default_generator() when null): reproducible from the seed, but not PyTorch's permutation.
//
//   auto parts = data::random_split(mnist, {55000, 5000});   // or {0.9, 0.1}
//   data::DataLoader train(parts[0], {.batch_size = 64, .shuffle = true});
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

#include "fulgur/data/dataset.h"
#include "fulgur/data/subset.h"
#include "fulgur/tensor/generator.h"

namespace fulgur::data {

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<int64_t>& lengths,
                                                  Generator* generator = nullptr);
// Fractions when they sum to 1 (within 1e-9, and not above), else integer lengths.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& lengths_or_fractions,
                                                  Generator* generator = nullptr);

// Braced lists: {55000, 5000} picks the integer overload, {0.9, 0.1} the fractional one.
template <typename T>
  requires std::is_arithmetic_v<T>
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  std::initializer_list<T> lengths,
                                                  Generator* generator = nullptr) {
  if constexpr (std::is_integral_v<T>) {
    return random_split(std::move(dataset), std::vector<int64_t>(lengths.begin(), lengths.end()),
                        generator);
  } else {
    return random_split(std::move(dataset), std::vector<double>(lengths.begin(), lengths.end()),
                        generator);
  }
}

// The part sizes random_split uses for `fractions` of n examples (exposed for tests and for
// callers that need the sizes before splitting).
std::vector<int64_t> split_lengths(int64_t n, const std::vector<double>& fractions);

}  // namespace fulgur::data
