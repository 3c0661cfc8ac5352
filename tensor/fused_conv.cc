#include "fulgur/tensor/fused_conv.h"

#include "fulgur/kernels/error.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/tensor/algorithm_flags.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

constexpr const char* kOp = "conv";

int64_t nspatial(const ConvWindow& w) { return static_cast<int64_t>(w.kernel.size()); }

// Everything but the pointers; x [N, Cin, *image], weight [Cout, Cin / groups, *kernel].
kernels::ConvArgs args_of(const Tensor& x, const Tensor& weight, const ConvWindow& w) {
  kernels::ConvArgs a;
  a.dtype = x.dtype();
  a.batch = x.size(0);
  a.in_channels = x.size(1);
  a.out_channels = weight.size(0);
  a.groups = w.groups;
  a.deterministic = are_deterministic_algorithms_enabled();
  a.benchmark = cudnn_benchmark();
  a.w.nspatial = static_cast<int>(nspatial(w));
  for (int64_t d = 0; d < nspatial(w); ++d) {
    a.w.image_sizes[d] = x.size(2 + d);
    a.w.kernel[d] = w.kernel[d];
    a.w.dilation[d] = w.dilation[d];
    a.w.padding[d] = w.padding[d];
    a.w.stride[d] = w.stride[d];
    a.w.grid[d] = w.grid[d];
  }
  return a;
}

// grid is what symmetric padding gives: the only padding the fused kernels take.
bool symmetric(const Tensor& x, const ConvWindow& w) {
  for (int64_t d = 0; d < nspatial(w); ++d) {
    const int64_t span = w.dilation[d] * (w.kernel[d] - 1) + 1;
    const int64_t padded = x.size(2 + d) + 2 * w.padding[d];
    if (padded < span || w.grid[d] != (padded - span) / w.stride[d] + 1) return false;
  }
  return true;
}

Shape output_shape(const Tensor& x, const Tensor& weight, const ConvWindow& w) {
  Shape s{x.size(0), weight.size(0)};
  s.insert(s.end(), w.grid.begin(), w.grid.end());
  return s;
}

char* data_of(Tensor& t) { return static_cast<char*>(t.data_ptr()); }
const char* data_of(const Tensor& t) { return static_cast<const char*>(t.data_ptr()); }

}  // namespace

bool has_fused_conv(const Tensor& x, const Tensor& weight, const ConvWindow& w) {
  const kernels::KernelTable& t = kernels::kernels_for(x.device().type);
  if (!t.conv_forward || !t.conv_backward_input || !t.conv_backward_weight || !t.supports_conv) return false;
  if (!cudnn_enabled() || x.numel() == 0 || weight.numel() == 0) return false;
  if (x.dim() != nspatial(w) + 2 || weight.dim() != x.dim() || weight.dtype() != x.dtype()) return false;
  if (weight.device() != x.device() || !symmetric(x, w)) return false;
  kernels::ConvArgs a = args_of(x, weight, w);
  a.x = data_of(x);
  return t.supports_conv(a);
}

Tensor fused_conv(const Tensor& input, const Tensor& weight_in, const ConvWindow& w) {
  FULGUR_CHECK(has_fused_conv(input, weight_in, w), kOp, "internal: no fused convolution for x ",
               shape_str(input.sizes()), " ", input.dtype(), " on ", input.device(), ", weight ",
               shape_str(weight_in.sizes()));
  const Tensor x = input.contiguous(), weight = weight_in.contiguous();
  internal::check_same_device(kOp, {&x, &weight});
  return record_op(OpId::Conv, {x, weight}, internal::conv_attrs(w), [&] {
    Tensor y = make_tensor(output_shape(x, weight, w), x.dtype(), x.device());
    kernels::ConvArgs a = args_of(x, weight, w);
    a.x = data_of(x);
    a.weight = data_of(weight);
    a.y = data_of(y);
    if (y.numel() > 0) internal::table(x, kOp).conv_forward(a);
    return std::vector<Tensor>{y};
  })[0];
}

namespace internal {

OpAttrs conv_attrs(const ConvWindow& w) {
  OpAttrs attrs;
  for (const Shape* part : {&w.kernel, &w.dilation, &w.padding, &w.stride, &w.grid})
    attrs.dims.insert(attrs.dims.end(), part->begin(), part->end());
  attrs.dim = w.groups;
  return attrs;
}

ConvWindow conv_window_of(const OpAttrs& attrs) {
  const size_t n = attrs.dims.size() / 5;
  const auto part = [&](size_t i) { return Shape(attrs.dims.begin() + i * n, attrs.dims.begin() + (i + 1) * n); };
  return {part(0), part(1), part(2), part(3), part(4), attrs.dim};
}

std::vector<Tensor> fused_conv_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_y,
                                        const ConvWindow& w, bool need_dx, bool need_dweight) {
  const int64_t N = x.size(0), Cin = x.size(1), Cout = weight.size(0), G = w.groups;
  const Shape image(x.sizes().begin() + 2, x.sizes().end());
  if (grad_mode_enabled()) {
    // create_graph: y[n, g] = w[g] @ im2col(x)[n, g] per sample and group, so
    // dw[g] = sum_n dy[n, g] @ cols[n, g]^T and dx = col2im(w[g]^T @ dy[n, g]).
    const int64_t K = numel_of(w.kernel), L = numel_of(w.grid);
    const Tensor dy = grad_y.reshape({N, G, Cout / G, L});
    const Tensor wg = weight.reshape({G, Cout / G, Cin / G * K});
    Tensor dx, dw;
    if (need_dweight) {
      const Tensor cols = im2col(x, w.kernel, w.dilation, w.padding, w.stride, w.grid).view({N, G, Cin / G * K, L});
      dw = dy.matmul(cols.transpose(2, 3)).sum({0}).reshape(weight.sizes());
    }
    if (need_dx) {
      const Tensor dcols = wg.transpose(1, 2).matmul(dy).reshape({N, Cin * K, L});
      dx = col2im(dcols, image, w.kernel, w.dilation, w.padding, w.stride, w.grid);
    }
    return {dx, dw};
  }
  const Tensor dy = grad_y.to(x.dtype()).contiguous();
  kernels::ConvArgs a = args_of(x, weight, w);
  a.x = data_of(x);
  a.weight = data_of(weight);
  a.dy = data_of(dy);
  Tensor dx, dw;
  const kernels::KernelTable& t = internal::table(x, "conv backward");
  if (need_dx) {
    dx = make_tensor(x.sizes(), x.dtype(), x.device());
    a.dx = data_of(dx);
    t.conv_backward_input(a);
  }
  if (need_dweight) {
    dw = make_tensor(weight.sizes(), weight.dtype(), weight.device());
    a.dweight = data_of(dw);
    t.conv_backward_weight(a);
  }
  return {dx, dw};
}

}  // namespace internal
}  // namespace fulgur
