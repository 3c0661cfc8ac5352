#include "fulgur/data/random_samplers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::data {
namespace {

Generator& or_default(Generator* generator) {
  return generator ? *generator : default_generator();
}

std::vector<int64_t> permutation(int64_t n, Generator& generator) {
  return randperm(n, {}, &generator).to_vector<int64_t>();
}

}  // namespace

uint64_t draw_seed(Generator* generator) {
  const Tensor seed = randint(0, std::numeric_limits<int64_t>::max(), {}, {}, &or_default(generator));
  return static_cast<uint64_t>(seed.item<int64_t>());
}

// ---- RandomSampler ----------------------------------------------------------------------

RandomSampler::RandomSampler(int64_t data_size, RandomSamplerOptions options)
    : data_size_(data_size),
      num_samples_(options.num_samples.value_or(data_size)),
      replacement_(options.replacement),
      generator_(options.generator) {
  FULGUR_CHECK(data_size >= 0, "RandomSampler", "data_size must be non-negative, got ", data_size);
  FULGUR_CHECK(num_samples_ > 0, "RandomSampler",
               "num_samples should be a positive integer value, but got num_samples=", num_samples_,
               options.num_samples ? "" : " (the dataset is empty)");
  FULGUR_CHECK(data_size > 0, "RandomSampler", "cannot draw ", num_samples_,
               " samples from an empty dataset (data_size=0)");
}

Generator* RandomSampler::generator() const { return &or_default(generator_); }

std::vector<int64_t> RandomSampler::indices() {
  // PyTorch with generator=None: one seed from the global generator per pass, then a private
  // generator, so the global generator advances by one draw whatever the dataset size.
  Generator private_generator(0);
  Generator* generator = generator_;
  if (generator == nullptr) {
    private_generator.manual_seed(draw_seed(nullptr));
    generator = &private_generator;
  }
  if (replacement_) {
    return randint(0, data_size_, {num_samples_}, {}, generator).to_vector<int64_t>();
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  for (int64_t i = 0; i < num_samples_ / data_size_; ++i) {
    const std::vector<int64_t> perm = permutation(data_size_, *generator);
    out.insert(out.end(), perm.begin(), perm.end());
  }
  const int64_t rest = num_samples_ % data_size_;
  if (rest > 0) {
    const std::vector<int64_t> perm = permutation(data_size_, *generator);
    out.insert(out.end(), perm.begin(), perm.begin() + rest);
  }
  return out;
}

// ---- SubsetRandomSampler ----------------------------------------------------------------

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices, Generator* generator)
    : indices_(std::move(indices)), generator_(generator) {}

Generator* SubsetRandomSampler::generator() const { return &or_default(generator_); }

std::vector<int64_t> SubsetRandomSampler::indices() {
  const std::vector<int64_t> order =
      permutation(static_cast<int64_t>(indices_.size()), or_default(generator_));
  std::vector<int64_t> out(order.size());
  for (size_t i = 0; i < order.size(); ++i) out[i] = indices_[static_cast<size_t>(order[i])];
  return out;
}

// ---- WeightedRandomSampler --------------------------------------------------------------

WeightedRandomSampler::WeightedRandomSampler(const Tensor& weights, int64_t num_samples,
                                             WeightedRandomSamplerOptions options)
    : WeightedRandomSampler(
          [&] {
            FULGUR_CHECK(weights.dim() == 1, "WeightedRandomSampler",
                         "weights should be a 1d sequence but given weights have shape ",
                         shape_str(weights.sizes()));
            return weights.to(DType::Float64).to_vector<double>();
          }(),
          num_samples, options) {}

WeightedRandomSampler::WeightedRandomSampler(std::vector<double> weights, int64_t num_samples,
                                             WeightedRandomSamplerOptions options)
    : weights_(std::move(weights)),
      num_samples_(num_samples),
      replacement_(options.replacement),
      generator_(options.generator) {
  const char* op = "WeightedRandomSampler";
  FULGUR_CHECK(num_samples > 0, op,
               "num_samples should be a positive integer value, but got num_samples=", num_samples);
  FULGUR_CHECK(!weights_.empty(), op, "weights must not be empty");
  int64_t positive = 0;
  double total = 0;
  cumulative_.reserve(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    const double w = weights_[i];
    FULGUR_CHECK(std::isfinite(w) && w >= 0, op,
                 "invalid multinomial distribution: weights[", i, "] = ", w,
                 "; hint: weights must be finite and non-negative");
    positive += w > 0;
    total += w;
    cumulative_.push_back(total);
  }
  FULGUR_CHECK(total > 0, op, "invalid multinomial distribution (sum of weights <= 0); hint: ",
               "give at least one positive weight");
  FULGUR_CHECK(replacement_ || num_samples <= positive, op, "cannot draw ", num_samples,
               " samples without replacement: only ", positive, " of ", weights_.size(),
               " weights are positive; hint: use replacement=true or lower num_samples");
}

Generator* WeightedRandomSampler::generator() const { return &or_default(generator_); }

std::vector<int64_t> WeightedRandomSampler::indices() {
  const int64_t n = static_cast<int64_t>(weights_.size());
  Generator& generator = or_default(generator_);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  if (replacement_) {
    // Inverse CDF: u * total falls in exactly one weight's interval of the running sums.
    const std::vector<double> u =
        rand({num_samples_}, {.dtype = DType::Float64}, &generator).to_vector<double>();
    const double total = cumulative_.back();
    for (double x : u) {
      auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x * total);
      int64_t i = std::min<int64_t>(it - cumulative_.begin(), n - 1);
      while (weights_[static_cast<size_t>(i)] == 0) --i;  // rounding at the top end
      out.push_back(i);
    }
    return out;
  }
  // Without replacement: the num_samples largest keys log(u) / w (Efraimidis-Spirakis), which
  // is the distribution of successive draws each renormalised over what is left.
  const std::vector<double> u = rand({n}, {.dtype = DType::Float64}, &generator).to_vector<double>();
  std::vector<double> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double w = weights_[static_cast<size_t>(i)];
    keys[static_cast<size_t>(i)] = w > 0 ? std::log(u[static_cast<size_t>(i)]) / w
                                         : -std::numeric_limits<double>::infinity();
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return keys[static_cast<size_t>(a)] > keys[static_cast<size_t>(b)];
  });
  order.resize(static_cast<size_t>(num_samples_));
  return order;
}

}  // namespace fulgur::data
