// The first line of every GPU test case: on a machine without a usable device the case says
// why (visibly, in the log that tests/gpu/run.sh summarises) and passes.
#pragma once

#include <doctest/doctest.h>

#include "fulgur/kernels/cuda/runtime.h"

#define FULGUR_SKIP_WITHOUT_GPU()                                        \
  if (!fulgur::cuda::is_available()) {                                   \
    MESSAGE("SKIPPED (no GPU): " << fulgur::cuda::unavailable_reason()); \
    return;                                                              \
  }
