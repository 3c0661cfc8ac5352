// L::seed_everything(seed, workers): Lightning's seed_everything. Seeds the default generator
// (which DataLoaders, randn and dropout draw from when given none) and records the seed in
// PL_GLOBAL_SEED / PL_SEED_WORKERS as Lightning does. Loader workers already get seeds
// derived from the loader's generator (data/dataloader.h), so `workers` only sets the
// variable. Returns the seed.
#pragma once

#include <cstdint>
#include <optional>

namespace fulgur::lightning {

uint64_t seed_everything(uint64_t seed, bool workers = false);

// The seed recorded in PL_GLOBAL_SEED (nullopt when unset); fulgur::Error from `op` with
// Lightning's "Invalid seed specified via PL_GLOBAL_SEED" when it is not an integer.
std::optional<int64_t> global_seed(const char* op);

}  // namespace fulgur::lightning
