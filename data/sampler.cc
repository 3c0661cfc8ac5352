#include "fulgur/data/sampler.h"

#include <numeric>

#include "fulgur/kernels/error.h"

namespace fulgur::data {

SequentialSampler::SequentialSampler(int64_t data_size) : data_size_(data_size) {
  FULGUR_CHECK(data_size >= 0, "SequentialSampler", "data_size must be non-negative, got ",
               data_size);
}

std::vector<int64_t> SequentialSampler::indices() {
  std::vector<int64_t> out(static_cast<size_t>(data_size_));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

}  // namespace fulgur::data
