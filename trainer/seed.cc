#include "fulgur/trainer/seed.h"

#include <cstdlib>
#include <string>

#include "fulgur/kernels/error.h"
#include "fulgur/tensor/generator.h"

namespace fulgur::lightning {

uint64_t seed_everything(uint64_t seed, bool workers) {
  manual_seed(seed);
  setenv("PL_GLOBAL_SEED", std::to_string(seed).c_str(), 1);
  setenv("PL_SEED_WORKERS", workers ? "1" : "0", 1);
  return seed;
}

std::optional<int64_t> global_seed(const char* op) {
  const char* env = std::getenv("PL_GLOBAL_SEED");
  if (env == nullptr) return std::nullopt;
  char* end = nullptr;
  const long long parsed = std::strtoll(env, &end, 10);
  FULGUR_CHECK(end != env && *end == '\0', op, "Invalid seed specified via PL_GLOBAL_SEED: '", env, "'");
  return parsed;
}

}  // namespace fulgur::lightning
