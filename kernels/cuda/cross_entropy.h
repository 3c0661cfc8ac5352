// Fused cross-entropy kernels (cross_entropy.cuh): log-softmax + NLL with class weights,
// ignore_index and label smoothing, as torch.nn.functional.cross_entropy over a contiguous
// rows x classes float32 matrix of logits and int64 targets. Device pointers for Exec::Gpu,
// host pointers for Exec::Emulated; `stream` is a cudaStream_t.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

struct CrossEntropyArgs {
  const float* logits = nullptr;    // rows x classes
  const int64_t* target = nullptr;  // rows
  const float* weight = nullptr;    // classes, or nullptr for all ones
  int64_t rows = 0;
  int64_t classes = 0;
  int64_t ignore_index = -100;
  float label_smoothing = 0.0f;
  // Optional: set to 1 + the first row (in launch order) whose target is neither a class nor
  // ignore_index; that row's loss is NaN. A kernel cannot throw: the caller checks this flag.
  int* bad_target = nullptr;
};

// Per row: loss (weighted; 0 for ignored rows), the row's log-sum-exp (kept for backward,
// O(rows) memory) and the weight of its target (0 when ignored). The mean reduction is
// sum(loss) / sum(row_weight), as PyTorch computes it.
template <Exec E>
void cross_entropy_forward(const CrossEntropyArgs& args, float* loss, float* lse, float* row_weight, void* stream);

// d(logits) from the saved log-sum-exp and the gradient of each row's loss (for the mean
// reduction: grad / sum(row_weight)); probabilities are recomputed, never stored.
template <Exec E>
void cross_entropy_backward(const CrossEntropyArgs& args, const float* lse, const float* grad_rows, float* dlogits,
                            void* stream);

// out[0] = sum of v[0..n) in a fixed order (one block, so the result does not depend on timing).
template <Exec E>
void deterministic_sum(const float* v, int64_t n, float* out, void* stream);

}  // namespace fulgur::cuda
