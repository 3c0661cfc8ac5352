#include "fulgur/data/distributed_sampler.h"

#include <numeric>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::data {

DistributedSampler::DistributedSampler(int64_t data_size, DistributedSamplerOptions options)
    : data_size_(data_size),
      shuffle_(options.shuffle),
      seed_(options.seed),
      drop_last_(options.drop_last) {
  const char* op = "DistributedSampler";
  FULGUR_CHECK(options.num_replicas && options.rank, op,
               "num_replicas and rank must be given (no process group to read them from); hint: ",
               "DistributedSampler(n, {.num_replicas = world_size, .rank = rank})");
  num_replicas_ = *options.num_replicas;
  rank_ = *options.rank;
  FULGUR_CHECK(data_size >= 0, op, "data_size must be non-negative, got ", data_size);
  FULGUR_CHECK(num_replicas_ > 0, op, "num_replicas must be positive, got ", num_replicas_);
  FULGUR_CHECK(rank_ >= 0 && rank_ < num_replicas_, op, "Invalid rank ", rank_,
               ", rank should be in the interval [0, ", num_replicas_ - 1, "]");
  if (drop_last_ && data_size % num_replicas_ != 0) {
    // Drop the tail so that every rank gets the same number of distinct examples. Written
    // with integer ceil division; PyTorch's math.ceil((n - r) / r) is the same for n >= 0.
    const int64_t m = data_size - num_replicas_;
    num_samples_ = m >= 0 ? (m + num_replicas_ - 1) / num_replicas_ : -((-m) / num_replicas_);
  } else {
    num_samples_ = (data_size + num_replicas_ - 1) / num_replicas_;
  }
}

std::vector<int64_t> DistributedSampler::indices() {
  std::vector<int64_t> order;
  if (shuffle_) {
    // Same permutation on every rank: a generator seeded by seed + epoch only.
    Generator generator(seed_ + static_cast<uint64_t>(epoch_));
    order = randperm(data_size_, {}, &generator).to_vector<int64_t>();
  } else {
    order.resize(static_cast<size_t>(data_size_));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  const size_t total = static_cast<size_t>(total_size());
  if (!drop_last_) {
    // Pad with indices from the start, repeating the whole list as often as needed.
    const size_t n = order.size();
    FULGUR_CHECK(n > 0 || total == 0, "DistributedSampler", "cannot pad an empty dataset");
    for (size_t i = n; i < total; ++i) order.push_back(order[(i - n) % n]);
  } else {
    order.resize(total);
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  for (size_t i = static_cast<size_t>(rank_); i < total; i += static_cast<size_t>(num_replicas_)) {
    out.push_back(order[i]);
  }
  return out;
}

}  // namespace fulgur::data
