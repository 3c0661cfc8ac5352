// F::conv1d/2d/3d, F::conv_transpose1d/2d/3d, F::unfold, F::fold (torch.nn.functional).
//
// Convolution is im2col (fulgur::im2col, a kernel) followed by one batched matmul, groups by
// reshaping into a batch dim; a transposed convolution is the matmul followed by col2im.
// Gradients come by composition (im2col and col2im are each other's gradient), to any order.
//
// Window arguments (stride, padding, dilation, output_padding) take one value for every
// spatial dim or one per dim: `F::conv2d(x, w, b, 2, 1)`, `F::conv2d(x, w, b, {2, 1}, "same")`.
// Inputs may be batched [N, C, *spatial] or unbatched [C, *spatial]. Floating dtypes; input,
// weight and bias share one.
#pragma once

#include <cstdint>

#include "fulgur/nn/window_options.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

// weight [C_out, C_in / groups, *kernel], bias [C_out] or undefined. Output spatial size per
// dim: floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), IntArrayRef stride = {1},
              const ConvPadding& padding = 0, IntArrayRef dilation = {1}, int64_t groups = 1);
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), IntArrayRef stride = {1},
              const ConvPadding& padding = 0, IntArrayRef dilation = {1}, int64_t groups = 1);
Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), IntArrayRef stride = {1},
              const ConvPadding& padding = 0, IntArrayRef dilation = {1}, int64_t groups = 1);

// weight [C_in, C_out / groups, *kernel], bias [C_out] or undefined (PyTorch's argument
// order). Output spatial size per dim:
// (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1, where
// output_padding must be smaller than stride or dilation.
Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        IntArrayRef stride = {1}, IntArrayRef padding = {0}, IntArrayRef output_padding = {0},
                        int64_t groups = 1, IntArrayRef dilation = {1});
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        IntArrayRef stride = {1}, IntArrayRef padding = {0}, IntArrayRef output_padding = {0},
                        int64_t groups = 1, IntArrayRef dilation = {1});
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                        IntArrayRef stride = {1}, IntArrayRef padding = {0}, IntArrayRef output_padding = {0},
                        int64_t groups = 1, IntArrayRef dilation = {1});

// torch.nn.functional.unfold: 2-D windows of a [N, C, H, W] or unbatched [C, H, W] input ->
// [N, C * kh * kw, L] (or [C * kh * kw, L]). fulgur::unfold (tensor/ops.h) is the N-d form.
Tensor unfold(const Tensor& input, IntArrayRef kernel_size, IntArrayRef dilation = {1}, IntArrayRef padding = {0},
              IntArrayRef stride = {1});
// torch.nn.functional.fold: [N, C * kh * kw, L] or [C * kh * kw, L] -> [N, C, *output_size]
// (or [C, *output_size]), overlapping entries summed.
Tensor fold(const Tensor& input, IntArrayRef output_size, IntArrayRef kernel_size, IntArrayRef dilation = {1},
            IntArrayRef padding = {0}, IntArrayRef stride = {1});

}  // namespace fulgur::nn::functional
