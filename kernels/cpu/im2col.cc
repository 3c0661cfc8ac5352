// im2col / col2im over 1-D, 2-D and 3-D windows (kernel_args.h: Im2colArgs). Both normalise
// the geometry to three spatial dims (missing leading dims have size 1) and walk the last
// dim as a run: for a fixed kernel offset the in-image window positions of the last dim form
// one interval, copied (or accumulated) with a constant stride, the rest zero-filled.
//
// Parallelism: im2col splits the rows (n, c, k...) of cols, col2im the image planes (n, c);
// every output element is written by one thread in a fixed order, so results do not depend
// on the thread count, and col2im sums in PyTorch's order (rows, then window positions).
#include <algorithm>
#include <cstring>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"
#include "fulgur/kernels/window3.h"

namespace fulgur::kernels::cpu {
namespace {

// ceil(a / b) for b > 0 and any sign of a.
inline int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// The window positions g in [0, grid) of one dim whose coordinate g * stride + off lies in
// [0, size).
inline void valid_range(int64_t size, int64_t stride, int64_t off, int64_t grid, int64_t& lo, int64_t& hi) {
  lo = std::clamp<int64_t>(ceil_div(-off, stride), 0, grid);
  hi = std::clamp<int64_t>(ceil_div(size - off, stride), lo, grid);
}

template <typename T>
void im2col_typed(const Im2colArgs& a) {
  const Window3 g = window3(a.w, a.image_strides, "im2col");
  const int64_t K = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t L = g.grid[0] * g.grid[1] * g.grid[2];
  const int64_t rows = a.batch * a.channels * K;
  if (rows == 0 || L == 0) return;
  T* cols = reinterpret_cast<T*>(a.cols);
  const int64_t row_grain = std::max<int64_t>(1, kDefaultGrain / L);
  parallel_for(0, rows, row_grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t k = r % K;
      const int64_t plane = r / K;
      const int64_t c = plane % a.channels, n = plane / a.channels;
      const int64_t k2 = k % g.kernel[2], k1 = (k / g.kernel[2]) % g.kernel[1], k0 = k / (g.kernel[2] * g.kernel[1]);
      const char* img = a.image + n * a.image_batch_stride + c * a.image_channel_stride;
      T* out = cols + n * a.cols_batch_stride + (c * K + k) * a.cols_row_stride;
      const int64_t off0 = k0 * g.dilation[0] - g.padding[0];
      const int64_t off1 = k1 * g.dilation[1] - g.padding[1];
      const int64_t off2 = k2 * g.dilation[2] - g.padding[2];
      int64_t lo2, hi2;
      valid_range(g.size[2], g.stride[2], off2, g.grid[2], lo2, hi2);
      const int64_t step2 = g.stride[2] * g.image_stride[2];
      for (int64_t g0 = 0; g0 < g.grid[0]; ++g0) {
        const int64_t i0 = g0 * g.stride[0] + off0;
        T* out0 = out + g0 * g.grid[1] * g.grid[2];
        if (i0 < 0 || i0 >= g.size[0]) {
          std::fill(out0, out0 + g.grid[1] * g.grid[2], T(0.0f));
          continue;
        }
        for (int64_t g1 = 0; g1 < g.grid[1]; ++g1) {
          const int64_t i1 = g1 * g.stride[1] + off1;
          T* o = out0 + g1 * g.grid[2];
          if (i1 < 0 || i1 >= g.size[1]) {
            std::fill(o, o + g.grid[2], T(0.0f));
            continue;
          }
          std::fill(o, o + lo2, T(0.0f));
          if (hi2 > lo2) {
            const char* src = img + i0 * g.image_stride[0] + i1 * g.image_stride[1] +
                              (lo2 * g.stride[2] + off2) * g.image_stride[2];
            if (step2 == static_cast<int64_t>(sizeof(T))) {
              std::memcpy(o + lo2, src, static_cast<size_t>(hi2 - lo2) * sizeof(T));
            } else {
              for (int64_t j = lo2; j < hi2; ++j, src += step2) o[j] = *reinterpret_cast<const T*>(src);
            }
          }
          std::fill(o + hi2, o + g.grid[2], T(0.0f));
        }
      }
    }
  });
}

template <typename T>
void col2im_typed(const Im2colArgs& a) {
  using M = opmath_t<T>;
  const Window3 g = window3(a.w, a.image_strides, "col2im");
  const int64_t K = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t L = g.grid[0] * g.grid[1] * g.grid[2];
  const int64_t planes = a.batch * a.channels;
  const int64_t plane_size = g.size[0] * g.size[1] * g.size[2];
  if (planes == 0 || plane_size == 0) return;
  const T* cols = reinterpret_cast<const T*>(a.cols);
  const int64_t plane_grain = std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, K * L));
  parallel_for(0, planes, plane_grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % a.channels, n = p / a.channels;
      char* img = a.image + n * a.image_batch_stride + c * a.image_channel_stride;
      for (int64_t i0 = 0; i0 < g.size[0]; ++i0)
        for (int64_t i1 = 0; i1 < g.size[1]; ++i1)
          for (int64_t i2 = 0; i2 < g.size[2]; ++i2)
            *reinterpret_cast<T*>(img + i0 * g.image_stride[0] + i1 * g.image_stride[1] + i2 * g.image_stride[2]) = T(0.0f);
      if (L == 0) continue;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t k2 = k % g.kernel[2], k1 = (k / g.kernel[2]) % g.kernel[1], k0 = k / (g.kernel[2] * g.kernel[1]);
        const T* row = cols + n * a.cols_batch_stride + (c * K + k) * a.cols_row_stride;
        const int64_t off0 = k0 * g.dilation[0] - g.padding[0];
        const int64_t off1 = k1 * g.dilation[1] - g.padding[1];
        const int64_t off2 = k2 * g.dilation[2] - g.padding[2];
        int64_t lo0, hi0, lo1, hi1, lo2, hi2;
        valid_range(g.size[0], g.stride[0], off0, g.grid[0], lo0, hi0);
        valid_range(g.size[1], g.stride[1], off1, g.grid[1], lo1, hi1);
        valid_range(g.size[2], g.stride[2], off2, g.grid[2], lo2, hi2);
        const int64_t step2 = g.stride[2] * g.image_stride[2];
        if (hi2 <= lo2) continue;
        for (int64_t g0 = lo0; g0 < hi0; ++g0) {
          const int64_t i0 = g0 * g.stride[0] + off0;
          for (int64_t g1 = lo1; g1 < hi1; ++g1) {
            const int64_t i1 = g1 * g.stride[1] + off1;
            const T* src = row + (g0 * g.grid[1] + g1) * g.grid[2];
            char* dst = img + i0 * g.image_stride[0] + i1 * g.image_stride[1] + (lo2 * g.stride[2] + off2) * g.image_stride[2];
            if (step2 == static_cast<int64_t>(sizeof(T))) {  // unit stride: a vectorisable run
              T* d = reinterpret_cast<T*>(dst) - lo2;
              for (int64_t j = lo2; j < hi2; ++j) d[j] = static_cast<T>(static_cast<M>(d[j]) + static_cast<M>(src[j]));
            } else {
              for (int64_t j = lo2; j < hi2; ++j, dst += step2) {
                T* d = reinterpret_cast<T*>(dst);
                *d = static_cast<T>(static_cast<M>(*d) + static_cast<M>(src[j]));
              }
            }
          }
        }
      }
    }
  });
}

template <template <typename> class Impl, typename Args>
void dispatch_floating(const Args& a, const char* op) {
  visit_dtype(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_floating_v<T>) {
      Impl<T>::run(a);
    } else {
      FULGUR_FAIL(op, "not implemented for ", a.dtype, "; hint: convert the input with .to(kFloat32)");
    }
  });
}

template <typename T>
struct Im2colImpl {
  static void run(const Im2colArgs& a) { im2col_typed<T>(a); }
};
template <typename T>
struct Col2imImpl {
  static void run(const Im2colArgs& a) { col2im_typed<T>(a); }
};

}  // namespace

void im2col(const Im2colArgs& args) { dispatch_floating<Im2colImpl>(args, "im2col"); }
void col2im(const Im2colArgs& args) { dispatch_floating<Col2imImpl>(args, "col2im"); }

}  // namespace fulgur::kernels::cpu
