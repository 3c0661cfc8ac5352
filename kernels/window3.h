// A sliding-window geometry (kernel_args.h: WindowGeometry) with exactly three spatial dims,
// leading ones of size 1 (kernel 1, dilation 1, no padding, stride 1, one window position,
// image stride 0): the form every backend's im2col / col2im / max-pooling loops walk, so that
// 1-D, 2-D and 3-D windows share one loop nest. Plain data: CUDA kernels take it by value.
#pragma once

#include <cstdint>

#include "fulgur/kernels/error.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::kernels {

struct Window3 {
  int64_t size[3], kernel[3], dilation[3], padding[3], stride[3], grid[3];
  int64_t image_stride[3];  // bytes
};

// `image_strides`: the image's byte strides of its w.nspatial spatial dims. Throws
// fulgur::Error naming `op` unless 1 <= w.nspatial <= kMaxSpatialDims.
inline Window3 window3(const WindowGeometry& w, const int64_t* image_strides, const char* op) {
  FULGUR_CHECK(w.nspatial >= 1 && w.nspatial <= kMaxSpatialDims, op, "expected 1 to ", kMaxSpatialDims,
               " spatial dims, got ", w.nspatial);
  Window3 g;
  const int lead = 3 - w.nspatial;
  for (int d = 0; d < 3; ++d) {
    const bool real = d >= lead;
    const int s = d - lead;
    g.size[d] = real ? w.image_sizes[s] : 1;
    g.kernel[d] = real ? w.kernel[s] : 1;
    g.dilation[d] = real ? w.dilation[s] : 1;
    g.padding[d] = real ? w.padding[s] : 0;
    g.stride[d] = real ? w.stride[s] : 1;
    g.grid[d] = real ? w.grid[s] : 1;
    g.image_stride[d] = real ? image_strides[s] : 0;
  }
  return g;
}

}  // namespace fulgur::kernels
