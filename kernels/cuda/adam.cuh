// Fused Adam / AdamW over many tensors (multi_tensor.cuh): each element is read once from
// the four arrays and param, exp_avg, exp_avg_sq are written once, with the bias corrections
// folded into two scalars computed on the host in double (step_size = lr / (1 - beta1^t),
// sqrt(1 - beta2^t)), exactly as the CPU loop does. float4 access when every pointer of the
// launch is 16-byte aligned and every size a multiple of 4 (chunks are multiples of 4).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/adam.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/multi_tensor.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

struct AdamScalars {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, weight_decay, decay, bias_correction2_sqrt, eps,
      neg_step_size;
  bool decoupled, l2, maximize;
};

__device__ __forceinline__ void adam_element(float& p, float g, float& m, float& v, const AdamScalars& s) {
  if (s.maximize) g = -g;
  if (s.decoupled) p = p * s.decay;
  if (s.l2) g = g + s.weight_decay * p;
  m = m * s.beta1 + s.one_minus_beta1 * g;
  v = v * s.beta2 + s.one_minus_beta2 * g * g;
  const float denom = sqrtf(v) / s.bias_correction2_sqrt + s.eps;
  p = p + s.neg_step_size * m / denom;
}

constexpr int kAdamThreads = 256;

template <bool kVec4>
__global__ void __launch_bounds__(kAdamThreads) adam_kernel(TensorListArgs<4> a, AdamScalars s) {
  for (int64_t chunk = blockIdx.x; chunk < a.chunk_begin[a.tensors]; chunk += gridDim.x) {
    const int t = tensor_of_chunk(a, chunk);
    float* p = a.ptr[0][t];
    const float* g = a.ptr[1][t];
    float* m = a.ptr[2][t];
    float* v = a.ptr[3][t];
    const int64_t begin = (chunk - a.chunk_begin[t]) * kChunk;
    const int64_t end = begin + kChunk < a.numel[t] ? begin + kChunk : a.numel[t];
    if (kVec4) {
      for (int64_t i = begin + 4 * static_cast<int64_t>(threadIdx.x); i < end; i += 4 * static_cast<int64_t>(blockDim.x)) {
        float4 pv = *reinterpret_cast<const float4*>(p + i);
        const float4 gv = *reinterpret_cast<const float4*>(g + i);
        float4 mv = *reinterpret_cast<const float4*>(m + i);
        float4 vv = *reinterpret_cast<const float4*>(v + i);
        adam_element(pv.x, gv.x, mv.x, vv.x, s);
        adam_element(pv.y, gv.y, mv.y, vv.y, s);
        adam_element(pv.z, gv.z, mv.z, vv.z, s);
        adam_element(pv.w, gv.w, mv.w, vv.w, s);
        *reinterpret_cast<float4*>(p + i) = pv;
        *reinterpret_cast<float4*>(m + i) = mv;
        *reinterpret_cast<float4*>(v + i) = vv;
      }
    } else {
      for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) adam_element(p[i], g[i], m[i], v[i], s);
    }
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void adam_step<FULGUR_EXEC>(const std::vector<AdamTensor>& tensors, const AdamHyper& h, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  if (h.step < 1) {
    throw Error("adam_step (cuda): step " + std::to_string(h.step) + "; hint: steps count from 1");
  }
  AdamScalars s;
  s.beta1 = static_cast<float>(h.beta1);
  s.one_minus_beta1 = static_cast<float>(1 - h.beta1);
  s.beta2 = static_cast<float>(h.beta2);
  s.one_minus_beta2 = static_cast<float>(1 - h.beta2);
  s.weight_decay = static_cast<float>(h.weight_decay);
  s.decay = static_cast<float>(1 - h.lr * h.weight_decay);
  s.bias_correction2_sqrt = static_cast<float>(std::sqrt(1 - std::pow(h.beta2, static_cast<double>(h.step))));
  s.eps = static_cast<float>(h.eps);
  s.neg_step_size = static_cast<float>(-(h.lr / (1 - std::pow(h.beta1, static_cast<double>(h.step)))));
  s.decoupled = h.decoupled;
  s.l2 = !h.decoupled && h.weight_decay != 0;
  s.maximize = h.maximize;
  size_t next = 0;
  while (next < tensors.size()) {
    TensorListArgs<4> a;
    a.chunk_begin[0] = 0;
    bool vec = true;
    for (; next < tensors.size() && a.tensors < kMaxListTensors; ++next) {
      const AdamTensor& t = tensors[next];
      if (t.numel < 0) throw Error("adam_step (cuda): negative numel " + std::to_string(t.numel));
      if (t.numel == 0) continue;
      a.ptr[0][a.tensors] = t.param;
      a.ptr[1][a.tensors] = const_cast<float*>(t.grad);  // read only; one pointer table for all four
      a.ptr[2][a.tensors] = t.exp_avg;
      a.ptr[3][a.tensors] = t.exp_avg_sq;
      a.numel[a.tensors] = t.numel;
      a.chunk_begin[a.tensors + 1] = a.chunk_begin[a.tensors] + (t.numel + kChunk - 1) / kChunk;
      vec = vec && t.numel % 4 == 0 && cuda::aligned16(t.param) && cuda::aligned16(t.grad) &&
            cuda::aligned16(t.exp_avg) && cuda::aligned16(t.exp_avg_sq);
      ++a.tensors;
    }
    if (a.tensors == 0) continue;
    const int64_t chunks = a.chunk_begin[a.tensors];
    const dim3 grid(chunks > 4096 ? 4096u : static_cast<unsigned>(chunks));
    // Every element is its own update: no thread waits for another (sequential under the emulator).
    if (vec) {
      FULGUR_LAUNCH_INDEPENDENT(adam_kernel<true>, grid, dim3(kAdamThreads), stream, a, s);
    } else {
      FULGUR_LAUNCH_INDEPENDENT(adam_kernel<false>, grid, dim3(kAdamThreads), stream, a, s);
    }
  }
}

}  // namespace fulgur::cuda
