#include "fulgur/tensor/generator.h"

namespace fulgur {

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  seed_ = seed;
  offset_ = 0;
}

uint64_t Generator::initial_seed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seed_;
}

Generator::Draw Generator::reserve(uint64_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Draw draw{seed_, offset_};
  offset_ += count;
  return draw;
}

uint64_t Generator::offset() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return offset_;
}

void Generator::set_state(uint64_t seed, uint64_t offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  seed_ = seed;
  offset_ = offset;
}

namespace {
// This thread's DefaultGeneratorGuard generator, if any.
thread_local Generator* t_default_generator = nullptr;
}  // namespace

Generator& default_generator() {
  if (t_default_generator != nullptr) return *t_default_generator;
  static Generator generator;
  return generator;
}

DefaultGeneratorGuard::DefaultGeneratorGuard(Generator& generator) : previous_(t_default_generator) {
  t_default_generator = &generator;
}

DefaultGeneratorGuard::~DefaultGeneratorGuard() { t_default_generator = previous_; }

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace fulgur
