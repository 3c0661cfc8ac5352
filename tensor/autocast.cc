#include "fulgur/tensor/autocast.h"

#include "fulgur/kernels/error.h"

namespace fulgur {
namespace {
thread_local AutocastState g_state;

// PyTorch's is_eligible_for_autocast: a defined floating tensor on the region's device, not
// float64.
bool eligible(const Tensor& t) {
  return g_state.enabled && t.defined() && t.is_floating_point() && t.dtype() != DType::Float64 &&
         t.device().type == g_state.device_type;
}
}  // namespace

const AutocastState& autocast_state() { return g_state; }

bool is_autocast_enabled(DeviceType device_type) { return g_state.enabled && g_state.device_type == device_type; }

AutocastGuard::AutocastGuard(Device device, DType dtype, bool enabled) : previous_(g_state) {
  FULGUR_CHECK(dtype == DType::BFloat16 || dtype == DType::Float16, "autocast",
               "dtype ", dtype, " is not a lower-precision floating type; hint: autocast supports "
               "torch.bfloat16 and torch.float16");
  g_state = AutocastState{enabled, device.type, dtype};
}

AutocastGuard::~AutocastGuard() { g_state = previous_; }

namespace autocast {
Tensor to_lower(const Tensor& t) { return eligible(t) && t.dtype() != g_state.dtype ? t.to(g_state.dtype) : t; }
Tensor to_fp32(const Tensor& t) { return eligible(t) && t.dtype() != DType::Float32 ? t.to(DType::Float32) : t; }
}  // namespace autocast

}  // namespace fulgur
