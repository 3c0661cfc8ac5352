// Max pooling over 1-D, 2-D and 3-D windows (kernel_args.h: MaxPoolArgs), PyTorch's CPU
// algorithm: per window, clip the scan to the image (starts moved forward by whole
// dilation steps), keep the first largest element, and let NaN win. Planes (n, c) run in
// parallel; each output is written by one thread, so results do not depend on threads.
#include <algorithm>
#include <limits>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {
namespace {

template <typename T>
void max_pool_typed(const MaxPoolArgs& a) {
  using M = opmath_t<T>;
  const WindowGeometry& w = a.w;
  FULGUR_CHECK(w.nspatial >= 1 && w.nspatial <= kMaxSpatialDims, "max_pool", "expected 1 to ",
               kMaxSpatialDims, " spatial dims, got ", w.nspatial);
  // Three dims, leading ones of size 1.
  int64_t size[3], kernel[3], dil[3], pad[3], str[3], grid[3], istr[3];
  const int lead = 3 - w.nspatial;
  for (int d = 0; d < 3; ++d) {
    const int s = d - lead;
    const bool real = d >= lead;
    size[d] = real ? w.image_sizes[s] : 1;
    kernel[d] = real ? w.kernel[s] : 1;
    dil[d] = real ? w.dilation[s] : 1;
    pad[d] = real ? w.padding[s] : 0;
    str[d] = real ? w.stride[s] : 1;
    grid[d] = real ? w.grid[s] : 1;
    istr[d] = real ? a.image_strides[s] : 0;
  }
  const int64_t L = grid[0] * grid[1] * grid[2];
  const int64_t planes = a.batch * a.channels;
  if (planes == 0 || L == 0) return;
  const int64_t K = kernel[0] * kernel[1] * kernel[2];
  T* out = reinterpret_cast<T*>(a.out);
  const int64_t grain = std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, L * K));
  parallel_for(0, planes, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % a.channels, n = p / a.channels;
      const char* img = a.image + n * a.image_batch_stride + c * a.image_channel_stride;
      int64_t o = p * L;
      for (int64_t g0 = 0; g0 < grid[0]; ++g0)
        for (int64_t g1 = 0; g1 < grid[1]; ++g1)
          for (int64_t g2 = 0; g2 < grid[2]; ++g2, ++o) {
            int64_t start[3], end[3];
            const int64_t gg[3] = {g0, g1, g2};
            for (int d = 0; d < 3; ++d) {
              start[d] = gg[d] * str[d] - pad[d];
              end[d] = std::min(start[d] + (kernel[d] - 1) * dil[d] + 1, size[d]);
              while (start[d] < 0) start[d] += dil[d];
            }
            int64_t best_index = (start[0] * size[1] + start[1]) * size[2] + start[2];
            M best = -std::numeric_limits<M>::infinity();
            for (int64_t i0 = start[0]; i0 < end[0]; i0 += dil[0])
              for (int64_t i1 = start[1]; i1 < end[1]; i1 += dil[1])
                for (int64_t i2 = start[2]; i2 < end[2]; i2 += dil[2]) {
                  const M v = static_cast<M>(
                      *reinterpret_cast<const T*>(img + i0 * istr[0] + i1 * istr[1] + i2 * istr[2]));
                  if (v > best || v != v) {
                    best = v;
                    best_index = (i0 * size[1] + i1) * size[2] + i2;
                  }
                }
            out[o] = static_cast<T>(best);
            a.indices[o] = best_index;
          }
    }
  });
}

}  // namespace

void max_pool(const MaxPoolArgs& args) {
  visit_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_floating_v<T>) {
      max_pool_typed<T>(args);
    } else {
      FULGUR_FAIL("max_pool", "not implemented for ", args.dtype,
                  "; hint: convert the input with .to(kFloat32)");
    }
  });
}

}  // namespace fulgur::kernels::cpu
