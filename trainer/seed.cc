#include "fulgur/trainer/seed.h"

#include <cstdlib>
#include <string>

#include "fulgur/tensor/generator.h"

namespace fulgur::lightning {

uint64_t seed_everything(uint64_t seed, bool workers) {
  manual_seed(seed);
  setenv("PL_GLOBAL_SEED", std::to_string(seed).c_str(), 1);
  setenv("PL_SEED_WORKERS", workers ? "1" : "0", 1);
  return seed;
}

}  // namespace fulgur::lightning
