// DistributedSampler: the share of a dataset that one of num_replicas processes reads
// (torch.utils.data.distributed.DistributedSampler).
//
// Every rank computes the same global order (a permutation seeded by seed + epoch when
// shuffling, else 0..n-1), makes its length a multiple of num_replicas (drop_last: cut the
// tail; otherwise pad by repeating indices from the start, exactly as PyTorch does), and takes
// every num_replicas-th index starting at rank. The order is a pure function of (seed, epoch),
// so call set_epoch(e) before each epoch, as with PyTorch, to reshuffle.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fulgur/data/sampler.h"

namespace fulgur::data {

struct DistributedSamplerOptions {
  // Required until a process group exists to ask (PyTorch reads them from torch.distributed).
  std::optional<int64_t> num_replicas = std::nullopt;
  std::optional<int64_t> rank = std::nullopt;
  bool shuffle = true;
  uint64_t seed = 0;  // must be the same on every rank
  bool drop_last = false;
};

class DistributedSampler : public Sampler {
 public:
  DistributedSampler(int64_t data_size, DistributedSamplerOptions options);
  std::vector<int64_t> indices() override;
  // Indices per rank: ceil(n / num_replicas), or with drop_last (and n not divisible)
  // ceil((n - num_replicas) / num_replicas).
  int64_t size() const override { return num_samples_; }
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t epoch() const { return epoch_; }
  int64_t num_replicas() const { return num_replicas_; }
  int64_t rank() const { return rank_; }
  int64_t total_size() const { return num_samples_ * num_replicas_; }

 private:
  int64_t data_size_;
  int64_t num_replicas_;
  int64_t rank_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  int64_t num_samples_;
  int64_t epoch_ = 0;
};

}  // namespace fulgur::data
