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

// The generator used when an op is given none: this thread's DefaultGeneratorGuard's if one
// is alive, else the process-wide one.
Generator& default_generator();
// Seeds the default generator (torch.manual_seed).
void manual_seed(uint64_t seed);

// Gives the current thread its own default generator while the guard lives: manual_seed,
// L::seed_everything, parameter init, dropout, rand/randn and samplers without an explicit
// generator then draw from `generator` on this thread, never from (or into) another
// thread's stream. Two Trainers in two threads, each under its own guard, get exactly the
// numbers each gets alone (tests/trainer_two_trainers_test.cc). Guards nest; `generator`
// must outlive the guard. Threads the library starts (DataLoader workers) have their own
// per-worker generators already. docs/INSTALL.md "Several trainers in one process".
class DefaultGeneratorGuard {
 public:
  explicit DefaultGeneratorGuard(Generator& generator);
  ~DefaultGeneratorGuard();
  DefaultGeneratorGuard(const DefaultGeneratorGuard&) = delete;
  DefaultGeneratorGuard& operator=(const DefaultGeneratorGuard&) = delete;

 private:
  Generator* previous_;
};

}  // namespace fulgur
