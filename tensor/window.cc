// Sliding-window ops: im2col / col2im (the autograd primitives behind unfold, fold,
// convolution and average pooling) and max pooling with indices. Shapes, checks and error
// messages live here; the loops are the im2col / col2im / max_pool kernel families.
#include <algorithm>
#include <sstream>

#include "fulgur/tensor/autograd_hooks.h"
#include "fulgur/tensor/internal/launch.h"
#include "fulgur/tensor/ops.h"

namespace fulgur {
namespace {

std::string list_str(IntArrayRef v) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << (v.size() == 1 ? ",)" : ")");
  return os.str();
}

// One value per spatial dim: a single value is repeated; any other length must be nsp.
Shape expand_param(IntArrayRef v, int64_t nsp, const char* name, const char* op) {
  if (v.size() == 1) return Shape(static_cast<size_t>(nsp), v[0]);
  FULGUR_CHECK(static_cast<int64_t>(v.size()) == nsp, op, name, " must have one value or one per spatial dim (",
               nsp, "), got ", list_str(v));
  return v.vec();
}

struct Window {
  Shape kernel, dilation, padding, stride, grid;
};

// Validates a window geometry over nsp spatial dims (sizes not yet checked against images).
Window make_window(int64_t nsp, IntArrayRef kernel, IntArrayRef dilation, IntArrayRef padding, IntArrayRef stride,
                   IntArrayRef grid, const char* op) {
  FULGUR_CHECK(nsp >= 1 && nsp <= kernels::kMaxSpatialDims, op, "supports 1 to ", kernels::kMaxSpatialDims,
               " spatial dims, got ", nsp);
  Window w{expand_param(kernel, nsp, "kernel_size", op), expand_param(dilation, nsp, "dilation", op),
           expand_param(padding, nsp, "padding", op), expand_param(stride, nsp, "stride", op),
           grid.empty() ? Shape() : expand_param(grid, nsp, "grid", op)};
  for (int64_t d = 0; d < nsp; ++d) {
    FULGUR_CHECK(w.kernel[d] > 0, op, "kernel size should be greater than zero, but got kernel_size=",
                 list_str(w.kernel));
    FULGUR_CHECK(w.dilation[d] > 0, op, "dilation should be greater than zero, but got dilation=",
                 list_str(w.dilation));
    FULGUR_CHECK(w.padding[d] >= 0, op, "padding should be non-negative, but got padding=", list_str(w.padding));
    FULGUR_CHECK(w.stride[d] > 0, op, "stride should be greater than zero, but got stride=", list_str(w.stride));
    if (!w.grid.empty()) FULGUR_CHECK(w.grid[d] >= 0, op, "grid sizes must be non-negative, got ", list_str(w.grid));
  }
  return w;
}

// Floor-rounded number of window positions per dim; throws when the padded image is
// smaller than the dilated kernel.
Shape floor_grid(IntArrayRef image, const Window& w, const char* op) {
  Shape grid;
  for (size_t d = 0; d < image.size(); ++d) {
    const int64_t span = w.dilation[d] * (w.kernel[d] - 1) + 1;
    const int64_t padded = image[d] + 2 * w.padding[d];
    FULGUR_CHECK(padded >= span, op, "the padded input (spatial size ", shape_str(image), ", padding ",
                 list_str(w.padding), ") is smaller than the dilated kernel (kernel_size ", list_str(w.kernel),
                 ", dilation ", list_str(w.dilation), ")");
    grid.push_back((padded - span) / w.stride[d] + 1);
  }
  return grid;
}

kernels::WindowGeometry geometry(IntArrayRef image, const Window& w) {
  kernels::WindowGeometry g;
  g.nspatial = static_cast<int>(image.size());
  for (size_t d = 0; d < image.size(); ++d) {
    g.image_sizes[d] = image[d];
    g.kernel[d] = w.kernel[d];
    g.dilation[d] = w.dilation[d];
    g.padding[d] = w.padding[d];
    g.stride[d] = w.stride[d];
    g.grid[d] = w.grid[d];
  }
  return g;
}

// Im2col / Col2im record their geometry as dims = kernel ++ dilation ++ padding ++ stride ++
// grid and sizes = the image's spatial sizes (formulas.cc unpacks it).
OpAttrs window_attrs(IntArrayRef image, const Window& w) {
  OpAttrs attrs;
  attrs.sizes = image.vec();
  for (const Shape* part : {&w.kernel, &w.dilation, &w.padding, &w.stride, &w.grid})
    attrs.dims.insert(attrs.dims.end(), part->begin(), part->end());
  return attrs;
}

void require_floating_input(const Tensor& x, const char* op) {
  FULGUR_CHECK(x.is_floating_point(), op, "expected a floating-point input, got ", x.dtype(),
               "; hint: convert with .to(kFloat32)");
}

void fill_image_strides(const Tensor& image, int64_t* batch, int64_t* channel, int64_t* spatial) {
  const int64_t es = static_cast<int64_t>(image.element_size());
  *batch = image.stride(0) * es;
  *channel = image.stride(1) * es;
  for (int64_t d = 2; d < image.dim(); ++d) spatial[d - 2] = image.stride(d) * es;
}

}  // namespace

Tensor im2col(const Tensor& input, IntArrayRef kernel_size, IntArrayRef dilation, IntArrayRef padding,
              IntArrayRef stride, IntArrayRef grid) {
  const char* op = "im2col";
  FULGUR_CHECK(input.dim() >= 3, op, "expected a batched input [N, C, *spatial], got shape ",
               shape_str(input.sizes()));
  require_floating_input(input, op);
  const int64_t nsp = input.dim() - 2;
  const Window w = make_window(nsp, kernel_size, dilation, padding, stride, grid, op);
  FULGUR_CHECK(!w.grid.empty(), op, "grid must be given");
  const Shape image(input.sizes().begin() + 2, input.sizes().end());
  const int64_t N = input.size(0), C = input.size(1);
  const int64_t K = numel_of(w.kernel), L = numel_of(w.grid);
  return record_op1(OpId::Im2col, {input}, window_attrs(image, w), [&] {
    Tensor cols = make_tensor({N, C * K, L}, input.dtype(), input.device());
    if (cols.numel() == 0) return std::vector<Tensor>{cols};
    kernels::Im2colArgs a;
    a.dtype = input.dtype();
    a.w = geometry(image, w);
    a.batch = N;
    a.channels = C;
    a.image = static_cast<char*>(input.data_ptr());
    fill_image_strides(input, &a.image_batch_stride, &a.image_channel_stride, a.image_strides);
    a.cols = static_cast<char*>(cols.data_ptr());
    a.cols_batch_stride = cols.stride(0);
    a.cols_row_stride = cols.stride(1);
    const auto fn = internal::table(input, op).im2col;
    FULGUR_CHECK(fn != nullptr, op, "not available on ", input.device());
    fn(a);
    return std::vector<Tensor>{cols};
  });
}

Tensor col2im(const Tensor& cols, IntArrayRef image_size, IntArrayRef kernel_size, IntArrayRef dilation,
              IntArrayRef padding, IntArrayRef stride, IntArrayRef grid) {
  const char* op = "col2im";
  require_floating_input(cols, op);
  const int64_t nsp = static_cast<int64_t>(image_size.size());
  const Window w = make_window(nsp, kernel_size, dilation, padding, stride, grid, op);
  FULGUR_CHECK(!w.grid.empty(), op, "grid must be given");
  const int64_t K = numel_of(w.kernel), L = numel_of(w.grid);
  FULGUR_CHECK(cols.dim() == 3 && cols.size(1) % K == 0 && cols.size(2) == L, op,
               "expected input of shape [N, C * ", K, ", ", L, "] for kernel_size ", list_str(w.kernel),
               " and ", L, " window positions, got ", shape_str(cols.sizes()));
  for (int64_t s : image_size) FULGUR_CHECK(s >= 0, op, "output sizes must be non-negative, got ", shape_str(image_size));
  const int64_t N = cols.size(0), C = cols.size(1) / K;
  return record_op1(OpId::Col2im, {cols}, window_attrs(image_size, w), [&] {
    Shape out_shape{N, C};
    out_shape.insert(out_shape.end(), image_size.begin(), image_size.end());
    Tensor image = make_tensor(out_shape, cols.dtype(), cols.device());
    if (image.numel() == 0) return std::vector<Tensor>{image};
    // Any layout whose rows are contiguous is read in place (e.g. a gradient that arrives
    // as a permuted or sliced view).
    const bool rows_contiguous = cols.stride(2) == 1 || L == 1;
    const Tensor c = rows_contiguous ? cols : cols.contiguous();
    kernels::Im2colArgs a;
    a.dtype = cols.dtype();
    a.w = geometry(image_size, w);
    a.batch = N;
    a.channels = C;
    a.image = static_cast<char*>(image.data_ptr());
    fill_image_strides(image, &a.image_batch_stride, &a.image_channel_stride, a.image_strides);
    a.cols = static_cast<char*>(c.data_ptr());
    a.cols_batch_stride = c.stride(0);
    a.cols_row_stride = c.stride(1);
    const auto fn = internal::table(cols, op).col2im;
    FULGUR_CHECK(fn != nullptr, op, "not available on ", cols.device());
    fn(a);
    return std::vector<Tensor>{image};
  });
}

Tensor unfold(const Tensor& input, IntArrayRef kernel_size, IntArrayRef dilation, IntArrayRef padding,
              IntArrayRef stride) {
  const char* op = "unfold";
  FULGUR_CHECK(input.dim() >= 3 && input.dim() <= 2 + kernels::kMaxSpatialDims, op,
               "expected a batched input [N, C, *spatial] with 1 to ", kernels::kMaxSpatialDims,
               " spatial dims, got shape ", shape_str(input.sizes()));
  require_floating_input(input, op);
  const int64_t nsp = input.dim() - 2;
  const Window w = make_window(nsp, kernel_size, dilation, padding, stride, {}, op);
  const Shape image(input.sizes().begin() + 2, input.sizes().end());
  FULGUR_CHECK(input.size(1) > 0 || input.size(0) == 0, op, "expected non-zero channels, got shape ",
               shape_str(input.sizes()));
  const Shape grid = floor_grid(image, w, op);
  return im2col(input, w.kernel, w.dilation, w.padding, w.stride, grid);
}

Tensor fold(const Tensor& input, IntArrayRef output_size, IntArrayRef kernel_size, IntArrayRef dilation,
            IntArrayRef padding, IntArrayRef stride) {
  const char* op = "fold";
  const int64_t nsp = static_cast<int64_t>(output_size.size());
  const Window w = make_window(nsp, kernel_size, dilation, padding, stride, {}, op);
  FULGUR_CHECK(input.dim() == 2 || input.dim() == 3, op,
               "expected 2-D (unbatched) or 3-D (batched) input [N, C * prod(kernel_size), L], got shape ",
               shape_str(input.sizes()));
  require_floating_input(input, op);
  const Tensor x = input.dim() == 2 ? input.unsqueeze(0) : input;
  const int64_t K = numel_of(w.kernel);
  FULGUR_CHECK(x.size(1) % K == 0, op, "expected size of input's dimension 1 to be divisible by the product of "
               "kernel_size, but got input.size(1)=", x.size(1), " and kernel_size=", list_str(w.kernel));
  for (int64_t d = 0; d < nsp; ++d)
    FULGUR_CHECK(output_size[d] > 0, op, "output size should be greater than zero, got output_size=",
                 list_str(output_size));
  const Shape grid = floor_grid(output_size, w, op);
  std::ostringstream blocks;
  for (size_t d = 0; d < grid.size(); ++d) blocks << (d ? " * " : "") << grid[d];
  FULGUR_CHECK(x.size(2) == numel_of(grid), op, "given output_size=", list_str(output_size),
               ", kernel_size=", list_str(w.kernel), ", dilation=", list_str(w.dilation), ", padding=",
               list_str(w.padding), ", stride=", list_str(w.stride), ", expected size of input's dimension 2 "
               "to match the calculated number of sliding blocks ", blocks.str(), " = ", numel_of(grid),
               ", but got input.size(2)=", x.size(2), ".");
  Tensor out = col2im(x, output_size, w.kernel, w.dilation, w.padding, w.stride, grid);
  return input.dim() == 2 ? out.squeeze(0) : out;
}

std::tuple<Tensor, Tensor> max_pool_with_indices(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride,
                                                 IntArrayRef padding, IntArrayRef dilation, IntArrayRef grid) {
  const char* op = "max_pool";
  FULGUR_CHECK(input.dim() >= 3, op, "expected a batched input [N, C, *spatial], got shape ",
               shape_str(input.sizes()));
  require_floating_input(input, op);
  const int64_t nsp = input.dim() - 2;
  const Window w = make_window(nsp, kernel_size, dilation, padding, stride, grid, op);
  FULGUR_CHECK(!w.grid.empty(), op, "grid must be given");
  const Shape image(input.sizes().begin() + 2, input.sizes().end());
  const int64_t N = input.size(0), C = input.size(1);
  for (int64_t s : image)
    FULGUR_CHECK(s > 0 || N * C == 0, op, "expected non-empty spatial dims, got input shape ",
                 shape_str(input.sizes()));
  auto outputs = record_op(OpId::MaxPool, {input}, {}, [&] {
    Shape out_shape{N, C};
    out_shape.insert(out_shape.end(), w.grid.begin(), w.grid.end());
    Tensor values = make_tensor(out_shape, input.dtype(), input.device());
    Tensor indices = make_tensor(out_shape, DType::Int64, input.device());
    if (values.numel() > 0) {
      kernels::MaxPoolArgs a;
      a.dtype = input.dtype();
      a.w = geometry(image, w);
      a.batch = N;
      a.channels = C;
      a.image = static_cast<const char*>(input.data_ptr());
      int64_t bs = 0, cs = 0;
      fill_image_strides(input, &bs, &cs, a.image_strides);
      a.image_batch_stride = bs;
      a.image_channel_stride = cs;
      a.out = static_cast<char*>(values.data_ptr());
      a.indices = static_cast<int64_t*>(indices.data_ptr());
      const auto fn = internal::table(input, op).max_pool;
      FULGUR_CHECK(fn != nullptr, op, "not available on ", input.device());
      fn(a);
    }
    return std::vector<Tensor>{values, indices};
  });
  return {outputs[0], outputs[1]};
}

}  // namespace fulgur
