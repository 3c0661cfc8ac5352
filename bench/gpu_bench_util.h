// What every GPU benchmark shares: the timing method (median of cudaEvent-timed runs after
// warm-up) and main()'s frame (--json, a skip line without a GPU, errors to stderr).
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <vector>

#include "fulgur/kernels/cuda/runtime.h"
#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>

#include "fulgur/kernels/cuda/device_buffer.h"
#endif

namespace fulgur::bench {

#if FULGUR_WITH_CUDA
// Median time of `launch` in milliseconds over `runs` event-timed runs, after `warmup` untimed
// ones (module load, handles and caches stay out of the numbers).
inline double median_ms(const std::function<void()>& launch, int runs = 20, int warmup = 3) {
  cudaEvent_t start, stop;
  cuda::check(cudaEventCreate(&start), "cudaEventCreate");
  cuda::check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < warmup; ++i) launch();
  cuda::synchronize("warm-up");
  std::vector<float> ms;
  for (int i = 0; i < runs; ++i) {
    cudaEventRecord(start);
    launch();
    cudaEventRecord(stop);
    cuda::check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float t = 0;
    cudaEventElapsedTime(&t, start, stop);
    ms.push_back(t);
  }
  cuda::synchronize("timed runs");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}
#endif

// Parses [--json], prints `{"bench":NAME,"skipped":REASON}` (or a plain line) and returns 0
// without a GPU, else runs `run(json)`; an exception becomes exit status 1.
inline int gpu_bench_main(int argc, char** argv, const char* name, const std::function<void(bool)>& run) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      std::fprintf(stderr, "usage: %s [--json]\n", name);
      return 2;
    }
  }
  if (!cuda::is_available()) {
    std::printf(json ? "{\"bench\":\"%s\",\"skipped\":\"%s\"}\n" : "%s: skipped (no GPU): %s\n", name,
                cuda::unavailable_reason().c_str());
    return 0;
  }
  try {
    run(json);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}

}  // namespace fulgur::bench
