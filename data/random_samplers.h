// The random samplers: RandomSampler, SubsetRandomSampler, WeightedRandomSampler.
//
// They draw from our Philox Generator, so their orders are not PyTorch's (its mt19937 shuffles
// cannot be reproduced bit for bit); what holds is what PyTorch promises: a permutation is a
// permutation (disjoint, complete), the same seed gives the same passes, and each pass draws
// fresh randomness. With no generator given they draw from fulgur::default_generator(), so
// fulgur::manual_seed makes them reproducible, as torch.manual_seed does.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fulgur/data/sampler.h"
#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::data {

// A fresh 63-bit seed drawn from `generator` (default_generator() when null): PyTorch's
// `torch.empty((), dtype=torch.int64).random_(generator=g).item()`.
uint64_t draw_seed(Generator* generator);

struct RandomSamplerOptions {
  bool replacement = false;
  // Indices per pass; default data_size. Without replacement, more than data_size chains
  // whole permutations (then a prefix of one more), as PyTorch does.
  std::optional<int64_t> num_samples = std::nullopt;
  // Not owned; must outlive the sampler. Null: each pass draws a seed from the default
  // generator and shuffles with a private generator (PyTorch's behaviour for generator=None).
  Generator* generator = nullptr;
};

// torch.utils.data.RandomSampler over indices [0, data_size).
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(int64_t data_size, RandomSamplerOptions options = {});
  std::vector<int64_t> indices() override;
  int64_t size() const override { return num_samples_; }
  Generator* generator() const override;

 private:
  int64_t data_size_;
  int64_t num_samples_;
  bool replacement_;
  Generator* generator_;
};

// The given indices in a random order each pass (torch.utils.data.SubsetRandomSampler).
// generator: not owned; null means default_generator().
class SubsetRandomSampler : public Sampler {
 public:
  explicit SubsetRandomSampler(std::vector<int64_t> indices, Generator* generator = nullptr);
  std::vector<int64_t> indices() override;
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Generator* generator() const override;

 private:
  std::vector<int64_t> indices_;
  Generator* generator_;
};

struct WeightedRandomSamplerOptions {
  bool replacement = true;
  Generator* generator = nullptr;  // not owned; null means default_generator()
};

// Index i with probability weights[i] / sum(weights) (torch.utils.data.WeightedRandomSampler,
// i.e. torch.multinomial). Without replacement, a drawn index is not drawn again in the pass.
// Weights are checked here, not at the first pass as in PyTorch: negative, non-finite or
// all-zero weights, and num_samples above the number of non-zero weights without
// replacement, throw fulgur::Error.
class WeightedRandomSampler : public Sampler {
 public:
  WeightedRandomSampler(std::vector<double> weights, int64_t num_samples,
                        WeightedRandomSamplerOptions options = {});
  // weights: a 1-D tensor of any real dtype.
  WeightedRandomSampler(const Tensor& weights, int64_t num_samples,
                        WeightedRandomSamplerOptions options = {});
  std::vector<int64_t> indices() override;
  int64_t size() const override { return num_samples_; }
  Generator* generator() const override;

 private:
  std::vector<double> weights_;
  std::vector<double> cumulative_;  // running sums, for sampling with replacement
  int64_t num_samples_;
  bool replacement_;
  Generator* generator_;
};

}  // namespace fulgur::data
