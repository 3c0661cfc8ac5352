// LibTorch's side of bench/mlp_step: the same MLP training step written with LibTorch's C++
// API, so that both libraries are timed in one run, rounds interleaved. Only the
// //bench:mlp_step_vs_libtorch target compiles it (LibTorch's headers are slow to compile
// and libtorch-dev is not a build dependency).
#pragma once

#include <cstdint>
#include <functional>

namespace fulgur::bench {

// Builds the 784-hidden-10 MLP, Adam and random data, runs 3 warm-up steps, and returns a
// function that runs `steps` steps and returns the microseconds per step.
std::function<double()> libtorch_mlp_round(int64_t hidden, int64_t batch, int steps, int threads);

}  // namespace fulgur::bench
