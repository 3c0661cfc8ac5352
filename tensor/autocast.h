// torch.autocast for Fulgur: a thread-local region in which the GEMM-family ops (matmul, mm,
// bmm, addmm, linear, conv*, conv_transpose*, scaled_dot_product_attention) cast their
// floating inputs to a lower precision (bfloat16 on CPU) and the losses, softmax/log_softmax
// and the norms cast theirs to float32; every other op follows the ordinary promotion rules.
// The casts are ordinary recorded .to() ops, so gradients come back in each leaf's own dtype
// (a float32 parameter gets a float32 .grad). See docs/SEMANTICS.md ("Autocast").
//
//   {
//     fulgur::AutocastGuard guard(fulgur::kCPU, fulgur::kBFloat16);
//     Tensor y = model(x);   // Linear runs in bfloat16
//     Tensor loss = F::cross_entropy(y, t);  // float32
//   }  // the previous state is back, also when an exception leaves the region
#pragma once

#include "fulgur/kernels/device.h"
#include "fulgur/kernels/dtype.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {

struct AutocastState {
  bool enabled = false;
  DeviceType device_type = DeviceType::CPU;
  DType dtype = DType::BFloat16;  // PyTorch's default on CPU (CUDA's is float16)
};

// This thread's state (torch.is_autocast_enabled / torch.get_autocast_dtype).
const AutocastState& autocast_state();
bool is_autocast_enabled(DeviceType device_type = DeviceType::CPU);

// Sets the state for its scope and restores the previous one on destruction, so regions nest
// (an inner AutocastGuard(kCPU, kBFloat16, /*enabled=*/false) turns autocast off locally).
// dtype must be a 16-bit float (bfloat16 or float16), as torch.autocast requires.
class AutocastGuard {
 public:
  AutocastGuard(Device device, DType dtype = DType::BFloat16, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastState previous_;
};

namespace autocast {
// The casts the ops apply at their entry. Both return `t` unchanged outside an enabled region
// for t's device, for undefined and non-floating tensors, and for float64 (PyTorch leaves
// double alone); otherwise t.to(lower dtype) / t.to(float32).
Tensor to_lower(const Tensor& t);
Tensor to_fp32(const Tensor& t);
}  // namespace autocast

}  // namespace fulgur
