#include "fulgur/nn/functional/conv.h"

#include <string>

#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/fused_conv.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur::nn::functional {
namespace {

// "(2 x 3)" as PyTorch prints sizes in convolution errors.
std::string x_list(IntArrayRef v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " x " : "") + std::to_string(v[i]);
  return s + ")";
}

void check_same_dtype(const Tensor& input, const Tensor& weight, const Tensor& bias, const char* op) {
  FULGUR_CHECK(input.is_floating_point(), op, "expected a floating-point input, got ", input.dtype(),
               "; hint: convert with .to(kFloat32)");
  FULGUR_CHECK(weight.dtype() == input.dtype(), op, "Input type (", input.dtype(), ") and weight type (",
               weight.dtype(), ") should be the same");
  FULGUR_CHECK(!bias.defined() || bias.dtype() == input.dtype(), op, "Input type (", input.dtype(),
               ") and bias type (", bias.dtype(), ") should be the same");
}

// Adds bias [C] over dim 1 of out [N, C, *spatial].
Tensor add_bias(const Tensor& out, const Tensor& bias) {
  if (!bias.defined()) return out;
  Shape shape(static_cast<size_t>(out.dim()), 1);
  shape[1] = bias.size(0);
  return out.add(bias.view(shape));
}

Tensor conv_nd(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride_arg,
               const ConvPadding& padding_arg, IntArrayRef dilation_arg, int64_t groups, int64_t nsp, const char* op) {
  if (is_autocast_enabled(input.device().type)) {  // in autocast's lower-precision list
    const Tensor i = autocast::to_lower(input), w = autocast::to_lower(weight), b = autocast::to_lower(bias);
    if (i.dtype() != input.dtype() || w.dtype() != weight.dtype() || (bias.defined() && b.dtype() != bias.dtype()))
      return conv_nd(i, w, b, stride_arg, padding_arg, dilation_arg, groups, nsp, op);
  }
  FULGUR_CHECK(input.dim() == nsp + 1 || input.dim() == nsp + 2, op, "Expected ", nsp + 1, "D (unbatched) or ",
               nsp + 2, "D (batched) input to ", op, ", but got input of size: ", shape_str(input.sizes()));
  const bool batched = input.dim() == nsp + 2;
  const Tensor x = batched ? input : input.unsqueeze(0);
  FULGUR_CHECK(weight.dim() == nsp + 2, op, "Expected ", nsp + 2, "-dimensional weight for ", nsp + 2,
               "-dimensional input ", shape_str(x.sizes()), ", but got ", weight.dim(), "-dimensional weight of size ",
               shape_str(weight.sizes()), " instead");
  check_same_dtype(x, weight, bias, op);
  FULGUR_CHECK(groups > 0, op, "non-positive groups is not supported");
  const Shape stride = expand_window_arg(stride_arg, nsp, "stride", op);
  const Shape dilation = expand_window_arg(dilation_arg, nsp, "dilation", op);
  for (int64_t d = 0; d < nsp; ++d) {
    FULGUR_CHECK(stride[d] > 0, op, "non-positive stride is not supported");
    FULGUR_CHECK(dilation[d] > 0, op, "dilation should be greater than zero");
  }
  const int64_t N = x.size(0), Cin = x.size(1), Cout = weight.size(0);
  FULGUR_CHECK(Cout % groups == 0, op, "Given groups=", groups, ", expected weight to be divisible by ", groups,
               " at dimension 0, but got weight of size ", shape_str(weight.sizes()), " instead");
  FULGUR_CHECK(weight.size(1) * groups == Cin, op, "Given groups=", groups, ", weight of size ",
               shape_str(weight.sizes()), ", expected input", shape_str(x.sizes()), " to have ",
               weight.size(1) * groups, " channels, but got ", Cin, " channels instead");
  FULGUR_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == Cout), op, "Given weight of size ",
               shape_str(weight.sizes()), ", expected bias to be 1-dimensional with ", Cout,
               " elements, but got bias of size ", shape_str(bias.sizes()), " instead");
  const Shape kernel(weight.sizes().begin() + 2, weight.sizes().end());
  const Shape image(x.sizes().begin() + 2, x.sizes().end());
  TracedComposite trace;  // an exporter sees one "conv", not the im2col and matmul below

  Shape padding(static_cast<size_t>(nsp), 0), grid(static_cast<size_t>(nsp), 0);
  if (padding_arg.mode() == ConvPadding::Mode::Same) {
    for (int64_t d = 0; d < nsp; ++d)
      FULGUR_CHECK(stride[d] == 1, op, "padding='same' is not supported for strided convolutions");
    // Total padding dilation * (kernel - 1): the left half here, the rest (the odd one) on the
    // right, where the windows running past the edge read zeros.
    for (int64_t d = 0; d < nsp; ++d) {
      padding[d] = dilation[d] * (kernel[d] - 1) / 2;
      grid[d] = image[d];
    }
  } else {
    if (padding_arg.mode() == ConvPadding::Mode::Explicit) padding = expand_window_arg(padding_arg.values(), nsp, "padding", op);
    for (int64_t d = 0; d < nsp; ++d) FULGUR_CHECK(padding[d] >= 0, op, "negative padding is not supported");
    Shape padded, effective;
    for (int64_t d = 0; d < nsp; ++d) {
      padded.push_back(image[d] + 2 * padding[d]);
      effective.push_back(dilation[d] * (kernel[d] - 1) + 1);
    }
    for (int64_t d = 0; d < nsp; ++d) {
      FULGUR_CHECK(padded[d] >= effective[d], op, "Calculated padded input size per channel: ", x_list(padded),
                   ". Kernel size: ", x_list(effective), ". Kernel size can't be greater than actual input size");
      grid[d] = (padded[d] - effective[d]) / stride[d] + 1;
    }
  }

  // One fused op where the device has it (cuDNN on a GPU; tensor/fused_conv.h); not while
  // tracing, where the exporter records this function as one Conv instead.
  const ConvWindow window{kernel, dilation, padding, stride, grid, groups};
  if (!trace.active() && has_fused_conv(x, weight, window)) {
    const Tensor out = add_bias(fused_conv(x, weight, window), bias);
    return batched ? out : out.squeeze(0);
  }
  const int64_t K = numel_of(kernel), L = numel_of(grid);
  bool pointwise = true;  // 1x1 kernel, stride 1, no padding: the input is its own im2col
  for (int64_t d = 0; d < nsp; ++d) pointwise = pointwise && kernel[d] == 1 && stride[d] == 1 && padding[d] == 0;
  // One GEMM per sample (and group): [Cout/G, Cin/G * K] @ [Cin/G * K, L], all in one batched
  // launch (parallel over samples). Measured against one GEMM over the whole batch (cols laid
  // out [Cin * K, N * L]): as fast forward, slightly faster backward on 1 thread, slower on 2
  // (the output and gradient permutes cost copies), so the simple layout stays.
  const Tensor w = weight.reshape({groups, Cout / groups, Cin / groups * K});
  const Tensor cols = pointwise ? x.reshape({N, Cin, L}) : im2col(x, kernel, dilation, padding, stride, grid);
  Tensor out = w.matmul(cols.view({N, groups, Cin / groups * K, L})).view({N, Cout, L});
  Shape out_shape{N, Cout};
  out_shape.insert(out_shape.end(), grid.begin(), grid.end());
  out = add_bias(out.view(out_shape), bias);
  if (trace.active()) {
    // pads: begins then ends ("same" puts the odd one at the end).
    Shape pads = padding;
    for (int64_t d = 0; d < nsp; ++d) {
      const bool same = padding_arg.mode() == ConvPadding::Mode::Same;
      const int64_t total = same ? dilation[d] * (kernel[d] - 1) : 2 * padding[d];
      pads.push_back(total - padding[d]);
    }
    trace.record("conv", {x, weight, bias},
                 {{"kernel_shape", kernel}, {"strides", stride}, {"pads", pads}, {"dilations", dilation},
                  {"group", groups}},
                 {out});
  }
  return batched ? out : out.squeeze(0);
}

Tensor conv_transpose_nd(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride_arg,
                         IntArrayRef padding_arg, IntArrayRef output_padding_arg, int64_t groups,
                         IntArrayRef dilation_arg, int64_t nsp, const char* op) {
  if (is_autocast_enabled(input.device().type)) {  // in autocast's lower-precision list
    const Tensor i = autocast::to_lower(input), w = autocast::to_lower(weight), b = autocast::to_lower(bias);
    if (i.dtype() != input.dtype() || w.dtype() != weight.dtype() || (bias.defined() && b.dtype() != bias.dtype()))
      return conv_transpose_nd(i, w, b, stride_arg, padding_arg, output_padding_arg, groups, dilation_arg, nsp, op);
  }
  FULGUR_CHECK(input.dim() == nsp + 1 || input.dim() == nsp + 2, op, "Expected ", nsp + 1, "D (unbatched) or ",
               nsp + 2, "D (batched) input to ", op, ", but got input of size: ", shape_str(input.sizes()));
  const bool batched = input.dim() == nsp + 2;
  const Tensor x = batched ? input : input.unsqueeze(0);
  FULGUR_CHECK(weight.dim() == nsp + 2, op, "Expected ", nsp + 2, "-dimensional weight for ", nsp + 2,
               "-dimensional input ", shape_str(x.sizes()), ", but got ", weight.dim(), "-dimensional weight of size ",
               shape_str(weight.sizes()), " instead");
  check_same_dtype(x, weight, bias, op);
  FULGUR_CHECK(groups > 0, op, "non-positive groups is not supported");
  const Shape stride = expand_window_arg(stride_arg, nsp, "stride", op);
  const Shape padding = expand_window_arg(padding_arg, nsp, "padding", op);
  const Shape output_padding = expand_window_arg(output_padding_arg, nsp, "output_padding", op);
  const Shape dilation = expand_window_arg(dilation_arg, nsp, "dilation", op);
  for (int64_t d = 0; d < nsp; ++d) {
    FULGUR_CHECK(stride[d] > 0, op, "non-positive stride is not supported");
    FULGUR_CHECK(dilation[d] > 0, op, "dilation should be greater than zero");
    FULGUR_CHECK(padding[d] >= 0, op, "negative padding is not supported");
    FULGUR_CHECK(output_padding[d] >= 0, op, "negative output_padding is not supported");
    FULGUR_CHECK(output_padding[d] < stride[d] || output_padding[d] < dilation[d], op,
                 "output padding must be smaller than either stride or dilation, but got output_padding=",
                 tuple_repr(output_padding), ", stride=", tuple_repr(stride), ", dilation=", tuple_repr(dilation));
  }
  const int64_t N = x.size(0), Cin = x.size(1);
  FULGUR_CHECK(weight.size(0) == Cin, op, "Given transposed=1, weight of size ", shape_str(weight.sizes()),
               ", expected input", shape_str(x.sizes()), " to have ", weight.size(0), " channels, but got ", Cin,
               " channels instead");
  FULGUR_CHECK(Cin % groups == 0, op, "Given groups=", groups, ", expected weight to be divisible by ", groups,
               " at dimension 0, but got weight of size ", shape_str(weight.sizes()), " instead");
  const int64_t Cout = weight.size(1) * groups;
  FULGUR_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == Cout), op, "Given transposed=1, weight of size ",
               shape_str(weight.sizes()), ", expected bias to be 1-dimensional with ", Cout,
               " elements, but got bias of size ", shape_str(bias.sizes()), " instead");
  const Shape kernel(weight.sizes().begin() + 2, weight.sizes().end());
  const Shape grid(x.sizes().begin() + 2, x.sizes().end());
  Shape image;
  for (int64_t d = 0; d < nsp; ++d) {
    image.push_back((grid[d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel[d] - 1) + output_padding[d] + 1);
    FULGUR_CHECK(image[d] > 0, op, "Given input size per channel: ", x_list(grid),
                 ". Calculated output size per channel: ", x_list(image), ". Output size is too small");
  }
  const int64_t K = numel_of(kernel), L = numel_of(grid);
  TracedComposite trace;  // an exporter sees one "conv_transpose"
  // cols[n, g] = weight[g]^T @ x[n, g]: [N, G, Cout/G * K, L], then summed into the image.
  const Tensor w = weight.reshape({groups, Cin / groups, Cout / groups * K}).transpose(1, 2);
  const Tensor cols = w.matmul(x.reshape({N, groups, Cin / groups, L})).reshape({N, Cout * K, L});
  Tensor out = add_bias(col2im(cols, image, kernel, dilation, padding, stride, grid), bias);
  if (trace.active()) {
    Shape pads = padding;
    pads.insert(pads.end(), padding.begin(), padding.end());
    trace.record("conv_transpose", {x, weight, bias},
                 {{"kernel_shape", kernel}, {"strides", stride}, {"pads", pads}, {"output_padding", output_padding},
                  {"dilations", dilation}, {"group", groups}},
                 {out});
  }
  return batched ? out : out.squeeze(0);
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
              const ConvPadding& padding, IntArrayRef dilation, int64_t groups) {
  return conv_nd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d");
}
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
              const ConvPadding& padding, IntArrayRef dilation, int64_t groups) {
  return conv_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d");
}
Tensor conv3d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
              const ConvPadding& padding, IntArrayRef dilation, int64_t groups) {
  return conv_nd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d");
}

Tensor conv_transpose1d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef output_padding, int64_t groups, IntArrayRef dilation) {
  return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d");
}
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef output_padding, int64_t groups, IntArrayRef dilation) {
  return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d");
}
Tensor conv_transpose3d(const Tensor& input, const Tensor& weight, const Tensor& bias, IntArrayRef stride,
                        IntArrayRef padding, IntArrayRef output_padding, int64_t groups, IntArrayRef dilation) {
  return conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d");
}

Tensor unfold(const Tensor& input, IntArrayRef kernel_size, IntArrayRef dilation, IntArrayRef padding,
              IntArrayRef stride) {
  FULGUR_CHECK(input.dim() == 3 || input.dim() == 4, "unfold",
               "Input Error: Only 3D or 4D input Tensors are supported (got ", input.dim(), "D)");
  const bool batched = input.dim() == 4;
  const Tensor out = fulgur::unfold(batched ? input : input.unsqueeze(0), expand_window_arg(kernel_size, 2, "kernel_size", "unfold"),
                                    expand_window_arg(dilation, 2, "dilation", "unfold"),
                                    expand_window_arg(padding, 2, "padding", "unfold"),
                                    expand_window_arg(stride, 2, "stride", "unfold"));
  return batched ? out : out.squeeze(0);
}

Tensor fold(const Tensor& input, IntArrayRef output_size, IntArrayRef kernel_size, IntArrayRef dilation,
            IntArrayRef padding, IntArrayRef stride) {
  FULGUR_CHECK(input.dim() == 2 || input.dim() == 3, "fold",
               "Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got ", input.dim(), "D)");
  return fulgur::fold(input, expand_window_arg(output_size, 2, "output_size", "fold"),
                      expand_window_arg(kernel_size, 2, "kernel_size", "fold"),
                      expand_window_arg(dilation, 2, "dilation", "fold"),
                      expand_window_arg(padding, 2, "padding", "fold"), expand_window_arg(stride, 2, "stride", "fold"));
}

}  // namespace fulgur::nn::functional
