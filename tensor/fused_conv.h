// Convolution as one op, where the device's kernel table has it (an optional family: the CUDA
// backend's cuDNN). nn::functional::conv1d/2d/3d take this path when they can and otherwise
// compose im2col and a batched GEMM; both compute torch's conv (cross-correlation, no bias
// here: the caller adds it).
//
// The fused op keeps no im2col buffer (prod(kernel) times the input, per step and again in
// backward) and lets cuDNN pick among its implicit-GEMM, FFT and Winograd algorithms per
// problem. Backward writes the input's gradient only when the input needs one (the first
// layer's image does not).
//
//   ConvWindow w{kernel, dilation, padding, stride, grid, groups};
//   if (has_fused_conv(x, weight, w)) y = fused_conv(x, weight, w);
#pragma once

#include <vector>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {

// The window of a convolution over x [N, Cin, *image]: one value per spatial dim, symmetric
// padding, grid the output's spatial sizes.
struct ConvWindow {
  Shape kernel, dilation, padding, stride, grid;
  int64_t groups = 1;
};

// Whether x's device has the fused op for this problem: the table's supports_conv says yes,
// cuDNN is enabled (algorithm_flags.h), x is not empty and the grid is what symmetric padding
// gives (padding="same" with an odd total is not).
bool has_fused_conv(const Tensor& x, const Tensor& weight, const ConvWindow& w);

// x [N, Cin, *image] and weight [Cout, Cin / groups, *kernel] of one dtype on one device
// (contiguous copies are made when needed). Returns y [N, Cout, *grid]. Differentiable in x
// and weight (one OpId::Conv node).
Tensor fused_conv(const Tensor& x, const Tensor& weight, const ConvWindow& w);

namespace internal {
// The window fused_conv records in a node's attributes (dims = kernel ++ dilation ++ padding
// ++ stride ++ grid, dim = groups), and back.
OpAttrs conv_attrs(const ConvWindow& w);
ConvWindow conv_window_of(const OpAttrs& attrs);

// {dx, dweight} of fused_conv from the gradient of y; each only when its `need_*` is set
// (undefined otherwise). The fused kernels, or (create_graph: the result must be
// differentiable again) im2col, col2im and matmul, which carry x's and weight's history.
std::vector<Tensor> fused_conv_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_y,
                                        const ConvWindow& w, bool need_dx, bool need_dweight);
}  // namespace internal

}  // namespace fulgur
