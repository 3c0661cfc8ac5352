// BatchSampler: groups a sampler's indices into batches (torch.utils.data.BatchSampler).
//
// Also the base class of custom batch samplers (bucketing by length, ...): derive, use the
// protected default constructor and override batches() and size(). DataLoader's
// `batch_sampler` option takes any of them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fulgur/data/sampler.h"

namespace fulgur::data {

class BatchSampler {
 public:
  // batch_size > 0. drop_last drops a final batch shorter than batch_size.
  BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, bool drop_last);
  virtual ~BatchSampler() = default;

  // The batches of the next pass (the sampler's next pass, cut in order).
  virtual std::vector<std::vector<int64_t>> batches();
  // len(batch_sampler): sampler.size() / batch_size, rounded down with drop_last, else up.
  virtual int64_t size() const;
  // The generator deciding the next pass (see Sampler::generator); null if deterministic.
  virtual Generator* generator() const;

  const std::shared_ptr<Sampler>& sampler() const { return sampler_; }
  int64_t batch_size() const { return batch_size_; }
  bool drop_last() const { return drop_last_; }

 protected:
  BatchSampler() = default;  // for custom batch samplers

 private:
  std::shared_ptr<Sampler> sampler_;
  int64_t batch_size_ = 0;
  bool drop_last_ = false;
};

}  // namespace fulgur::data
