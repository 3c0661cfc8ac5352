// Max pooling over 1-D, 2-D and 3-D windows (kernel_args.h: MaxPoolArgs), PyTorch's CPU
// algorithm: per window, clip the scan to the image (starts moved forward by whole
// dilation steps), keep the first largest element, and let NaN win. Planes (n, c) run in
// parallel; each output is written by one thread, so results do not depend on threads.
#include <algorithm>
#include <limits>
#include <vector>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"
#include "fulgur/kernels/window3.h"

namespace fulgur::kernels::cpu {
namespace {

// Per window position g of one dim: the clipped scan [start, end) (start moved forward by
// whole dilation steps, as PyTorch does).
struct Span {
  int64_t start, end;
};

std::vector<Span> spans(int64_t size, int64_t kernel, int64_t dil, int64_t pad, int64_t stride, int64_t grid) {
  std::vector<Span> s(static_cast<size_t>(grid));
  for (int64_t g = 0; g < grid; ++g) {
    int64_t start = g * stride - pad;
    const int64_t end = std::min(start + (kernel - 1) * dil + 1, size);
    while (start < 0) start += dil;
    s[static_cast<size_t>(g)] = {start, end};
  }
  return s;
}

template <typename T>
void max_pool_typed(const MaxPoolArgs& a) {
  using M = opmath_t<T>;
  const Window3 g3 = window3(a.w, a.image_strides, "max_pool");
  const auto &size = g3.size, &kernel = g3.kernel, &dil = g3.dilation, &pad = g3.padding, &str = g3.stride;
  const auto &grid = g3.grid, &istr = g3.image_stride;
  const int64_t L = grid[0] * grid[1] * grid[2];
  const int64_t planes = a.batch * a.channels;
  if (planes == 0 || L == 0) return;
  const int64_t K = kernel[0] * kernel[1] * kernel[2];
  const std::vector<Span> s0 = spans(size[0], kernel[0], dil[0], pad[0], str[0], grid[0]);
  const std::vector<Span> s1 = spans(size[1], kernel[1], dil[1], pad[1], str[1], grid[1]);
  const std::vector<Span> s2 = spans(size[2], kernel[2], dil[2], pad[2], str[2], grid[2]);
  const int64_t grain = std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, L * K));
  parallel_for(0, planes, grain, [&](int64_t p0, int64_t p1) {
    // Locals, so that the stores below cannot alias them.
    const int64_t n1 = size[1], n2 = size[2], d0 = dil[0], d1 = dil[1], d2 = dil[2];
    const int64_t st0 = istr[0], st1 = istr[1], st2 = istr[2];
    const int64_t channels = a.channels, bs = a.image_batch_stride, cs = a.image_channel_stride;
    const Span* sp0 = s0.data();
    const Span* sp1 = s1.data();
    const Span* sp2 = s2.data();
    const int64_t g0n = grid[0], g1n = grid[1], g2n = grid[2];
    T* out = reinterpret_cast<T*>(a.out) + p0 * L;
    int64_t* idx = a.indices + p0 * L;
    for (int64_t p = p0; p < p1; ++p) {
      const char* img = a.image + (p / channels) * bs + (p % channels) * cs;
      for (int64_t g0 = 0; g0 < g0n; ++g0) {
        const Span w0 = sp0[g0];
        for (int64_t g1 = 0; g1 < g1n; ++g1) {
          const Span w1 = sp1[g1];
          for (int64_t g2 = 0; g2 < g2n; ++g2) {
            const Span w2 = sp2[g2];
            int64_t best_index = (w0.start * n1 + w1.start) * n2 + w2.start;
            M best = -std::numeric_limits<M>::infinity();
            for (int64_t i0 = w0.start; i0 < w0.end; i0 += d0)
              for (int64_t i1 = w1.start; i1 < w1.end; i1 += d1) {
                const char* row = img + i0 * st0 + i1 * st1;
                const int64_t base = (i0 * n1 + i1) * n2;
                for (int64_t i2 = w2.start; i2 < w2.end; i2 += d2) {
                  const M v = static_cast<M>(*reinterpret_cast<const T*>(row + i2 * st2));
                  const bool take = (v > best) | (v != v);  // larger, or NaN: PyTorch's rule
                  best = take ? v : best;
                  best_index = take ? base + i2 : best_index;
                }
              }
            *out++ = static_cast<T>(best);
            *idx++ = best_index;
          }
        }
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
