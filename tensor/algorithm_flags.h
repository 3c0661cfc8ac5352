// Process-wide switches that PyTorch keeps in torch.use_deterministic_algorithms and
// torch.backends.cudnn, read by the ops whose algorithm they choose (today: convolution on a
// GPU, tensor/fused_conv.h). The Trainer's `deterministic` and `benchmark` options set them,
// as Lightning's do.
#pragma once

namespace fulgur {

// torch.use_deterministic_algorithms / torch.are_deterministic_algorithms_enabled: only
// algorithms that give the same bits on every run (off by default; Fulgur's CPU kernels and
// hand-written CUDA kernels are deterministic either way, cuDNN's are not all).
void use_deterministic_algorithms(bool enabled);
bool are_deterministic_algorithms_enabled();

// torch.backends.cudnn.enabled: convolutions of CUDA tensors run on cuDNN where it loads
// (default true); false composes them from im2col and our GEMM.
void set_cudnn_enabled(bool enabled);
bool cudnn_enabled();

// torch.backends.cudnn.benchmark: time cuDNN's candidate algorithms on the first call of each
// problem and keep the fastest (default false: cuDNN's heuristic picks without timing).
void set_cudnn_benchmark(bool enabled);
bool cudnn_benchmark();

}  // namespace fulgur
