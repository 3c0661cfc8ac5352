// CPU threading. One knob (set_num_threads) drives OpenMP and Eigen, for the calling thread
// only (each thread, so each Trainer running in its own thread, keeps its own count; see
// docs/INSTALL.md "Several trainers in one process"). parallel_for splits a
// range into chunks whose boundaries depend only on the range and the grain, never on the
// thread count, so kernels that reduce per chunk give the same bits with 1 or N threads.
#pragma once

#include <cstdint>
#include <functional>

namespace fulgur {

void set_num_threads(int n);
int get_num_threads();

// Work below this many elements runs inline: a parallel region costs a few microseconds.
inline constexpr int64_t kDefaultGrain = 32768;

namespace detail {
void parallel_for_impl(int64_t begin, int64_t end, int64_t grain,
                       const std::function<void(int64_t, int64_t)>& fn);
}

// Calls fn(chunk_begin, chunk_end) over [begin, end) in chunks of at least `grain` elements.
template <typename Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, Fn&& fn) {
  if (end <= begin) return;
  if (end - begin <= grain) {
    fn(begin, end);
    return;
  }
  detail::parallel_for_impl(begin, end, grain, std::function<void(int64_t, int64_t)>(fn));
}

}  // namespace fulgur
