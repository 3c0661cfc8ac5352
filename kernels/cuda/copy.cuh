// Copy with dtype conversion (any pair of the 10 dtypes, any strides) and fill.
// Algorithm: a grid-stride loop over the flat index of the launch; each element's source and
// destination offsets come from the operands' byte strides (elementwise_loop.cuh), and the
// value goes through dtypes.cuh's convert, which is the CPU backend's convert (NaN and
// out-of-range floats to integers give the type's minimum, fp16/bf16 round to nearest even).
// Fill writes the value's bits, converted once on the host by Scalar::to<T> as on the CPU.
// Same-dtype copies between contiguous, 16-byte aligned buffers (clone, contiguous(), device
// to device) move 16-byte vectors (uint4) instead, the last n % 16 bytes one by one.
// Memory-bound: one read and one write per element; no fusion.
#pragma once

#include <cstdint>
#include <cstring>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/dtypes.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/elementwise_loop.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

template <typename To, typename From>
__global__ void __launch_bounds__(kElementwiseThreads) copy_kernel(kernels::ElementwiseArgs a, int64_t n) {
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    operand_offsets<2>(a, i, off);
    element<To>(a.op[0], off[0]) = convert<To>(element<const From>(a.op[1], off[1]));
  }
}

__global__ void __launch_bounds__(kElementwiseThreads) copy_vector_kernel(const char* __restrict__ in, char* __restrict__ out,
                                                                          int64_t bytes) {
  const int64_t vectors = bytes / 16;
  FULGUR_GRID_STRIDE_LOOP(v, vectors) {
    reinterpret_cast<uint4*>(out)[v] = reinterpret_cast<const uint4*>(in)[v];
  }
  FULGUR_GRID_STRIDE_LOOP(t, bytes - vectors * 16) out[vectors * 16 + t] = in[vectors * 16 + t];
}

// Whether op[0] = op[1] is a plain byte copy of two contiguous 16-byte aligned buffers.
bool vector_copy(const kernels::ElementwiseArgs& a) {
  const auto size = static_cast<int64_t>(element_size(a.op[0].dtype));
  return a.op[0].dtype == a.op[1].dtype && a.ndim == 1 && a.op[0].strides[0] == size &&
         a.op[1].strides[0] == size && cuda::aligned16(a.op[0].data) && cuda::aligned16(a.op[1].data);
}

template <typename Word>
__global__ void __launch_bounds__(kElementwiseThreads) fill_kernel(kernels::ElementwiseArgs a, int64_t n, Word value) {
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    int64_t off[1];
    operand_offsets<1>(a, i, off);
    element<Word>(a.op[0], off[0]) = value;
  }
}

template <typename Word>
void launch_fill(const kernels::ElementwiseArgs& args, int64_t n, const void* bits, void* stream) {
  Word w;
  std::memcpy(&w, bits, sizeof(Word));
  FULGUR_LAUNCH_INDEPENDENT((fill_kernel<Word>), elementwise_grid(n), dim3(kElementwiseThreads), stream, args, n, w);
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_copy<FULGUR_EXEC>(const kernels::ElementwiseArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const int64_t n = args.numel();
  if (n == 0) return;
  if (vector_copy(args)) {
    const int64_t bytes = n * static_cast<int64_t>(element_size(args.op[0].dtype));
    FULGUR_LAUNCH_INDEPENDENT(copy_vector_kernel, elementwise_grid((bytes + 15) / 16), dim3(kElementwiseThreads), stream,
                  args.op[1].data, args.op[0].data, bytes);
    return;
  }
  visit_device_dtype(args.op[0].dtype, [&](auto to_tag) {
    using To = typename decltype(to_tag)::type;
    visit_device_dtype(args.op[1].dtype, [&](auto from_tag) {
      using From = typename decltype(from_tag)::type;
      FULGUR_LAUNCH_INDEPENDENT((copy_kernel<To, From>), elementwise_grid(n), dim3(kElementwiseThreads), stream, args, n);
    });
  });
}

template <>
void tensor_fill<FULGUR_EXEC>(const kernels::ElementwiseArgs& args, const Scalar& value, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const int64_t n = args.numel();
  if (n == 0) return;
  unsigned char bits[8] = {};
  size_t size = 0;
  visit_dtype(args.op[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = value.to<T>();
    std::memcpy(bits, &v, sizeof(T));
    size = sizeof(T);
  });
  switch (size) {
    case 1: return launch_fill<uint8_t>(args, n, bits, stream);
    case 2: return launch_fill<uint16_t>(args, n, bits, stream);
    case 4: return launch_fill<uint32_t>(args, n, bits, stream);
    default: return launch_fill<uint64_t>(args, n, bits, stream);
  }
}

}  // namespace fulgur::cuda
