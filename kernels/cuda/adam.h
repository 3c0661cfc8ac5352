// Fused multi-tensor Adam / AdamW step (adam.cuh) on float32 parameters: one pass reads
// param, grad, exp_avg, exp_avg_sq and writes three of them, for up to 24 tensors per launch.
// Same operation order as the CPU fused loop (optim/adam.cc) and PyTorch's; amsgrad is not
// offered here (the optimizer falls back to tensor ops for it).
#pragma once

#include <cstdint>
#include <vector>

#include "fulgur/kernels/cuda/exec.h"

namespace fulgur::cuda {

struct AdamTensor {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t numel;
};

struct AdamHyper {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  int64_t step = 1;           // this step's number, from 1 (bias corrections)
  bool decoupled = false;     // AdamW: param *= 1 - lr * weight_decay, instead of L2 in the gradient
  bool maximize = false;
};

template <Exec E>
void adam_step(const std::vector<AdamTensor>& tensors, const AdamHyper& hyper, void* stream);

}  // namespace fulgur::cuda
