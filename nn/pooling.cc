#include "fulgur/nn/pooling.h"

namespace fulgur::nn {

MaxPoolNd::MaxPoolNd(int64_t nsp, const IntOrTuple& k, const MaxPoolOptions& o)
    : kernel_size(k), stride(o.stride.is_none() ? k : o.stride), padding(o.padding), dilation(o.dilation),
      return_indices(o.return_indices), ceil_mode(o.ceil_mode), nsp_(nsp) {
  // Validate the sizes' lengths now (values are checked against the input by forward).
  kernel_size.expand(nsp, "kernel_size", "MaxPool");
  stride.expand(nsp, "stride", "MaxPool");
  padding.expand(nsp, "padding", "MaxPool");
  dilation.expand(nsp, "dilation", "MaxPool");
}

std::tuple<Tensor, Tensor> MaxPoolNd::forward_with_indices(const Tensor& x) {
  const Shape k = kernel_size.expand(nsp_, "kernel_size", "MaxPool"), s = stride.expand(nsp_, "stride", "MaxPool");
  const Shape p = padding.expand(nsp_, "padding", "MaxPool"), d = dilation.expand(nsp_, "dilation", "MaxPool");
  switch (nsp_) {
    case 1: return functional::max_pool1d_with_indices(x, k, s, p, d, ceil_mode);
    case 2: return functional::max_pool2d_with_indices(x, k, s, p, d, ceil_mode);
    default: return functional::max_pool3d_with_indices(x, k, s, p, d, ceil_mode);
  }
}

std::string MaxPoolNd::extra_repr() const {
  return "kernel_size=" + kernel_size.repr() + ", stride=" + stride.repr() + ", padding=" + padding.repr() +
         ", dilation=" + dilation.repr() + ", ceil_mode=" + repr_bool(ceil_mode);
}

AvgPoolNd::AvgPoolNd(int64_t nsp, const IntOrTuple& k, const AvgPoolOptions& o)
    : kernel_size(k), stride(o.stride.is_none() ? k : o.stride), padding(o.padding), ceil_mode(o.ceil_mode),
      count_include_pad(o.count_include_pad), divisor_override(o.divisor_override), nsp_(nsp) {
  kernel_size.expand(nsp, "kernel_size", "AvgPool");
  stride.expand(nsp, "stride", "AvgPool");
  padding.expand(nsp, "padding", "AvgPool");
}

// PyTorch's AvgPool1d keeps its sizes as 1-tuples.
AvgPool1d::AvgPool1d(const IntOrTuple& k, const AvgPoolOptions& o) : AvgPoolNd(1, k, o) {
  FULGUR_CHECK(!o.divisor_override, "AvgPool1d", "divisor_override is not an argument of AvgPool1d");
  kernel_size = IntOrTuple(kernel_size.expand(1, "kernel_size", "AvgPool1d"));
  stride = IntOrTuple(stride.expand(1, "stride", "AvgPool1d"));
  padding = IntOrTuple(padding.expand(1, "padding", "AvgPool1d"));
}

Tensor AvgPoolNd::forward(const Tensor& x) {
  const Shape k = kernel_size.expand(nsp_, "kernel_size", "AvgPool"), s = stride.expand(nsp_, "stride", "AvgPool");
  const Shape p = padding.expand(nsp_, "padding", "AvgPool");
  switch (nsp_) {
    case 1: return functional::avg_pool1d(x, k, s, p, ceil_mode, count_include_pad);
    case 2: return functional::avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override);
    default: return functional::avg_pool3d(x, k, s, p, ceil_mode, count_include_pad, divisor_override);
  }
}

std::string AvgPoolNd::extra_repr() const {
  return "kernel_size=" + kernel_size.repr() + ", stride=" + stride.repr() + ", padding=" + padding.repr();
}

Tensor AdaptiveAvgPoolNd::forward(const Tensor& x) {
  switch (nsp_) {
    case 1: return functional::adaptive_avg_pool1d(x, output_size);
    case 2: return functional::adaptive_avg_pool2d(x, output_size);
    default: return functional::adaptive_avg_pool3d(x, output_size);
  }
}

}  // namespace fulgur::nn
