// Lightning's rank_zero_warn / rank_zero_info: what a job of several processes prints once,
// from global rank 0, instead of once per rank. The rank is read from the launcher's
// environment (distributed/launch_environment.h), as Lightning's rank_zero_only.rank is, so
// it is known before any process group exists and outside a Trainer (load_from_checkpoint).
#pragma once

namespace fulgur::lightning {

// Whether this process is global rank 0: true in a single process, and where the launcher's
// variables cannot be read (the Trainer reports those itself, with the variable's name).
bool is_rank_zero();

// std::fprintf(stderr, format, ...) on global rank 0 only.
void rank_zero_printf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace fulgur::lightning
