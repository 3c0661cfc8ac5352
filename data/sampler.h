// Sampler: which dataset indices one pass (epoch) visits, and in what order
// (torch.utils.data.Sampler). SequentialSampler is the deterministic one; the random ones live
// in random_samplers.h, BatchSampler groups indices into batches, DistributedSampler shards.
//
// A pass is produced whole (indices() returns a vector) rather than lazily as a Python
// generator: the DataLoader needs the full batch list to hand batches to worker threads in a
// fixed order and to skip already-yielded batches when it resumes mid-epoch. So samplers are
// finite; an infinite stream belongs in an IterableDataset.
#pragma once

#include <cstdint>
#include <vector>

#include "fulgur/tensor/generator.h"

namespace fulgur::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The indices of the next pass. Random samplers draw fresh randomness on every call.
  virtual std::vector<int64_t> indices() = 0;
  // len(sampler): how many indices a pass yields.
  virtual int64_t size() const = 0;
  // The generator whose state decides the next pass (null for deterministic samplers). The
  // DataLoader saves and restores its state for exact mid-epoch resume.
  virtual Generator* generator() const { return nullptr; }
};

// 0, 1, ..., data_size - 1 (torch.utils.data.SequentialSampler).
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t data_size);
  std::vector<int64_t> indices() override;
  int64_t size() const override { return data_size_; }

 private:
  int64_t data_size_;
};

}  // namespace fulgur::data
