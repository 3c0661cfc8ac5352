#include "fulgur/kernels/parallel.h"

#include <omp.h>

#include <algorithm>

#include "fulgur/kernels/error.h"

namespace fulgur {

void set_num_threads(int n) {
  FULGUR_CHECK(n >= 1, "set_num_threads", "expected a positive thread count, got ", n);
  // Per thread: OpenMP's nthreads-var is a per-thread ICV (libgomp gives every thread its
  // own), and Eigen, left unset, asks omp_get_max_threads() on the calling thread. (Eigen's
  // own setNbThreads would be one process-wide value for every thread and Trainer.)
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

namespace detail {

void parallel_for_impl(int64_t begin, int64_t end, int64_t grain,
                       const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t n = end - begin;
  const int64_t chunks = (n + grain - 1) / grain;
  if (omp_in_parallel() || get_num_threads() == 1) {
    for (int64_t c = 0; c < chunks; ++c) fn(begin + c * grain, std::min(end, begin + (c + 1) * grain));
    return;
  }
  // Exceptions must not escape an OpenMP region: keep the first and rethrow after it.
  std::exception_ptr error;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    try {
      fn(begin + c * grain, std::min(end, begin + (c + 1) * grain));
    } catch (...) {
#pragma omp critical(fulgur_parallel_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace fulgur
