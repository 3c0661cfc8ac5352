// Random number generator state: a Philox key (the seed) and a counter offset. Each random
// op reserves `numel` counters and advances the offset, so a seed fixes every value that
// follows, on CPU and CUDA alike, for any thread count.
#pragma once

#include <cstdint>
#include <mutex>

namespace fulgur {

class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ull) : seed_(seed) {}

  void manual_seed(uint64_t seed);
  uint64_t initial_seed() const;
  struct Draw {
    uint64_t seed;
    uint64_t offset;  // first reserved counter
  };
  // Reserves `count` counters. Thread-safe.
  Draw reserve(uint64_t count);
  // State for checkpoints: (seed, offset).
  uint64_t offset() const;
  void set_state(uint64_t seed, uint64_t offset);

 private:
  mutable std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The process-wide generator used when an op is given none.
Generator& default_generator();
// Seeds the default generator (torch.manual_seed).
void manual_seed(uint64_t seed);

}  // namespace fulgur
