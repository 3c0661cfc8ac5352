#include "fulgur/data/random_split.h"

#include <cmath>
#include <numeric>
#include <sstream>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::data {
namespace {

template <typename T>
std::string list_repr(const std::vector<T>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

bool sums_to_one(const std::vector<double>& v) {
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);
  // Python's math.isclose(sum, 1) (rel_tol 1e-9) and sum <= 1.
  return std::fabs(sum - 1.0) <= 1e-9 * std::max(1.0, std::fabs(sum)) && sum <= 1.0;
}

}  // namespace

std::vector<int64_t> split_lengths(int64_t n, const std::vector<double>& fractions) {
  FULGUR_CHECK(!fractions.empty(), "random_split", "needs at least one fraction");
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < fractions.size(); ++i) {
    FULGUR_CHECK(fractions[i] >= 0 && fractions[i] <= 1, "random_split", "Fraction at index ", i,
                 " is not between 0 and 1 (got ", fractions[i], ")");
    lengths.push_back(static_cast<int64_t>(std::floor(static_cast<double>(n) * fractions[i])));
  }
  const int64_t remainder = n - std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  for (int64_t i = 0; i < remainder; ++i) {
    lengths[static_cast<size_t>(i) % lengths.size()] += 1;
  }
  return lengths;
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<int64_t>& lengths,
                                                  Generator* generator) {
  FULGUR_CHECK(dataset != nullptr, "random_split", "dataset is null");
  const int64_t n = dataset->size();
  for (size_t i = 0; i < lengths.size(); ++i) {
    FULGUR_CHECK(lengths[i] >= 0, "random_split", "length at index ", i, " is negative: ",
                 list_repr(lengths));
  }
  const int64_t total = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  FULGUR_CHECK(total == n, "random_split",
               "Sum of input lengths does not equal the length of the input dataset! lengths ",
               list_repr(lengths), " sum to ", total, " but the dataset has ", n,
               " examples; hint: pass fractions summing to 1 (e.g. {0.8, 0.2}) to have the sizes ",
               "computed");
  const std::vector<int64_t> perm =
      randperm(n, {}, generator ? generator : &default_generator()).to_vector<int64_t>();
  std::vector<std::shared_ptr<Subset>> parts;
  int64_t offset = 0;
  for (int64_t length : lengths) {
    parts.push_back(std::make_shared<Subset>(
        dataset, std::vector<int64_t>(perm.begin() + offset, perm.begin() + offset + length)));
    offset += length;
  }
  return parts;
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& lengths_or_fractions,
                                                  Generator* generator) {
  FULGUR_CHECK(dataset != nullptr, "random_split", "dataset is null");
  if (sums_to_one(lengths_or_fractions)) {
    std::vector<int64_t> lengths = split_lengths(dataset->size(), lengths_or_fractions);
    return random_split(std::move(dataset), lengths, generator);
  }
  std::vector<int64_t> lengths;
  for (double v : lengths_or_fractions) {
    FULGUR_CHECK(std::floor(v) == v, "random_split", "lengths ", list_repr(lengths_or_fractions),
                 " are neither integers nor fractions summing to 1");
    lengths.push_back(static_cast<int64_t>(v));
  }
  return random_split(std::move(dataset), lengths, generator);
}

}  // namespace fulgur::data
