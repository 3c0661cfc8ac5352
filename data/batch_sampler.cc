#include "fulgur/data/batch_sampler.h"

#include "fulgur/kernels/error.h"

namespace fulgur::data {

BatchSampler::BatchSampler(std::shared_ptr<Sampler> sampler, int64_t batch_size, bool drop_last)
    : sampler_(std::move(sampler)), batch_size_(batch_size), drop_last_(drop_last) {
  FULGUR_CHECK(sampler_ != nullptr, "BatchSampler", "sampler is null");
  FULGUR_CHECK(batch_size > 0, "BatchSampler",
               "batch_size should be a positive integer value, but got batch_size=", batch_size);
}

std::vector<std::vector<int64_t>> BatchSampler::batches() {
  FULGUR_CHECK(sampler_ != nullptr, "BatchSampler::batches",
               "a custom batch sampler must override batches() and size()");
  const std::vector<int64_t> indices = sampler_->indices();
  std::vector<std::vector<int64_t>> out;
  out.reserve(indices.size() / static_cast<size_t>(batch_size_) + 1);
  for (size_t start = 0; start < indices.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(indices.size(), start + static_cast<size_t>(batch_size_));
    if (drop_last_ && end - start < static_cast<size_t>(batch_size_)) break;
    out.emplace_back(indices.begin() + static_cast<std::ptrdiff_t>(start),
                     indices.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

int64_t BatchSampler::size() const {
  FULGUR_CHECK(sampler_ != nullptr, "BatchSampler::size",
               "a custom batch sampler must override batches() and size()");
  const int64_t n = sampler_->size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

Generator* BatchSampler::generator() const { return sampler_ ? sampler_->generator() : nullptr; }

}  // namespace fulgur::data
