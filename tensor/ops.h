// Free functions over tensors: factories, the functional forms of Tensor's methods, ops
// over several tensors (cat, stack, where), and operators.
#pragma once

#include <initializer_list>
#include <vector>

#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur {

// ---- factories ------------------------------------------------------------------------
Tensor empty(IntArrayRef sizes, TensorOptions options = {});
Tensor zeros(IntArrayRef sizes, TensorOptions options = {});
Tensor ones(IntArrayRef sizes, TensorOptions options = {});
// dtype defaults to the scalar's: bool, int64 or float32.
Tensor full(IntArrayRef sizes, const Scalar& value, TensorOptions options = {});
Tensor scalar_tensor(const Scalar& value, TensorOptions options = {});
// [start, end) by step; dtype int64 when all of start/end/step are integers, else float32.
Tensor arange(const Scalar& end, TensorOptions options = {});
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1,
              TensorOptions options = {});
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, TensorOptions options = {});
// *_like: same shape, and dtype/device of `like` unless options give them.
Tensor empty_like(const Tensor& like, std::optional<DType> dtype = std::nullopt);
Tensor zeros_like(const Tensor& like, std::optional<DType> dtype = std::nullopt);
Tensor ones_like(const Tensor& like, std::optional<DType> dtype = std::nullopt);
Tensor full_like(const Tensor& like, const Scalar& value, std::optional<DType> dtype = std::nullopt);
Tensor rand_like(const Tensor& like, Generator* generator = nullptr);
Tensor randn_like(const Tensor& like, Generator* generator = nullptr);

// Copies values (row-major) into a new tensor of that shape (default: 1-D).
template <typename T>
Tensor from_vector(const std::vector<T>& values, std::optional<Shape> sizes = std::nullopt,
                   Device device = kCPU);
// tensor({1.f, 2.f}) and tensor({{1, 2}, {3, 4}}): like torch.tensor for literals.
template <typename T>
Tensor tensor(std::initializer_list<T> values) {
  return from_vector(std::vector<T>(values));
}
template <typename T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> rows);
// Wraps caller memory without copying. strides in elements (default row-major); deleter
// (may be empty) runs when the last view is gone. The memory must outlive the tensor.
Tensor from_blob(void* data, IntArrayRef sizes, DType dtype, std::optional<Shape> strides = std::nullopt,
                 std::function<void(void*)> deleter = {}, Device device = kCPU);

// ---- random (Philox; same values for the same seed on any device or thread count) ------
Tensor rand(IntArrayRef sizes, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn(IntArrayRef sizes, TensorOptions options = {}, Generator* generator = nullptr);
// Integers uniform in [low, high); dtype int64 unless given.
Tensor randint(int64_t low, int64_t high, IntArrayRef sizes, TensorOptions options = {},
               Generator* generator = nullptr);
Tensor randperm(int64_t n, TensorOptions options = {}, Generator* generator = nullptr);
// 1 with probability p (per element of `p`), in p's dtype.
Tensor bernoulli(const Tensor& p, Generator* generator = nullptr);
Tensor bernoulli(IntArrayRef sizes, double p, TensorOptions options = {}, Generator* generator = nullptr);

// ---- element-wise ---------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Scalar& b);
Tensor pow(const Scalar& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b);
Tensor where(const Tensor& condition, const Scalar& a, const Scalar& b);
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt);
inline Tensor neg(const Tensor& x) { return x.neg(); }
inline Tensor abs(const Tensor& x) { return x.abs(); }
inline Tensor exp(const Tensor& x) { return x.exp(); }
inline Tensor log(const Tensor& x) { return x.log(); }
inline Tensor log1p(const Tensor& x) { return x.log1p(); }
inline Tensor sqrt(const Tensor& x) { return x.sqrt(); }
inline Tensor rsqrt(const Tensor& x) { return x.rsqrt(); }
inline Tensor sin(const Tensor& x) { return x.sin(); }
inline Tensor cos(const Tensor& x) { return x.cos(); }
inline Tensor tanh(const Tensor& x) { return x.tanh(); }
inline Tensor sigmoid(const Tensor& x) { return x.sigmoid(); }
inline Tensor relu(const Tensor& x) { return x.relu(); }
inline Tensor gelu(const Tensor& x, bool tanh_approximation = false) { return x.gelu(tanh_approximation); }
inline Tensor silu(const Tensor& x) { return x.silu(); }
inline Tensor logical_not(const Tensor& x) { return x.logical_not(); }
inline Tensor logical_and(const Tensor& a, const Tensor& b) { return a.logical_and(b); }
inline Tensor logical_or(const Tensor& a, const Tensor& b) { return a.logical_or(b); }
inline Tensor logical_xor(const Tensor& a, const Tensor& b) { return a.logical_xor(b); }
inline Tensor softmax(const Tensor& x, int64_t dim) { return x.softmax(dim); }
inline Tensor log_softmax(const Tensor& x, int64_t dim) { return x.log_softmax(dim); }
// True where |a - b| <= atol + rtol * |b| (NaNs equal if equal_nan).
Tensor isclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8,
               bool equal_nan = false);
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8,
              bool equal_nan = false);
// Same shape and the same values (NaN != NaN), after type promotion.
bool equal(const Tensor& a, const Tensor& b);
Tensor isnan(const Tensor& x);
Tensor isfinite(const Tensor& x);

// ---- linear algebra -------------------------------------------------------------------
inline Tensor matmul(const Tensor& a, const Tensor& b) { return a.matmul(b); }
inline Tensor mm(const Tensor& a, const Tensor& b) { return a.mm(b); }
inline Tensor bmm(const Tensor& a, const Tensor& b) { return a.bmm(b); }
// beta * input + alpha * (m1 @ m2), input broadcast to [n, p].
Tensor addmm(const Tensor& input, const Tensor& m1, const Tensor& m2, const Scalar& beta = 1,
             const Scalar& alpha = 1);
// x @ weight^T + bias; weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- joining and indexing -------------------------------------------------------------
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);
// zeros(sizes) with src written into slice(dim, start, end, step): the gradient of slice.
Tensor slice_scatter(const Tensor& src, IntArrayRef sizes, int64_t dim, int64_t start, int64_t end,
                     int64_t step = 1);
inline Tensor erf(const Tensor& x) { return x.erf(); }

// ---- sliding windows (the building blocks of convolution and pooling) -------------------
// Window parameters (kernel_size, dilation, padding, stride) take one value per spatial dim
// or a single value for all of them. Floating dtypes only; all are differentiable.
//
// torch.nn.functional.unfold generalised to 1-3 spatial dims: input [N, C, *spatial] (the
// number of spatial dims is input.dim() - 2; unbatched and PyTorch's 2-D-only forms are
// nn::functional::unfold). Returns [N, C * prod(kernel_size), L], rows ordered (c, k...),
// L = the number of window positions (floor rounding), zero padding. Gradient: fold.
Tensor unfold(const Tensor& input, IntArrayRef kernel_size, IntArrayRef dilation = {1},
              IntArrayRef padding = {0}, IntArrayRef stride = {1});
// torch.nn.functional.fold generalised likewise: input [N, C * prod(kernel_size), L] or
// unbatched [C * prod(kernel_size), L]; output_size (one entry per spatial dim, which fixes
// their number) gives [N, C, *output_size], overlapping entries summed. Gradient: unfold.
Tensor fold(const Tensor& input, IntArrayRef output_size, IntArrayRef kernel_size,
            IntArrayRef dilation = {1}, IntArrayRef padding = {0}, IntArrayRef stride = {1});
// The primitives under unfold/fold, with the number of window positions per dim (`grid`)
// given: grid may exceed the floor count (windows running past the right edge read zeros /
// drop entries), which ceil-mode pooling and "same" padding use. im2col: input
// [N, C, *spatial] -> [N, C * prod(kernel), prod(grid)]; col2im: the reverse (summing) into
// [N, C, *image_size]. Each is the other's gradient. im2col's result is contiguous; col2im
// reads any layout whose last dim is contiguous in place.
Tensor im2col(const Tensor& input, IntArrayRef kernel_size, IntArrayRef dilation, IntArrayRef padding,
              IntArrayRef stride, IntArrayRef grid);
Tensor col2im(const Tensor& cols, IntArrayRef image_size, IntArrayRef kernel_size, IntArrayRef dilation,
              IntArrayRef padding, IntArrayRef stride, IntArrayRef grid);
// Max pooling of input [N, C, *spatial] (1-3 spatial dims) over `grid` windows (padding
// never wins; NaN propagates): values [N, C, *grid] and int64 indices, the flat position of
// each maximum within its (n, c) plane (PyTorch's return_indices). nn::functional::max_pool*
// compute the grid (ceil_mode) and check PyTorch's argument rules. Gradient: the output
// gradient scattered (summed) to the indices.
std::tuple<Tensor, Tensor> max_pool_with_indices(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride,
                                                 IntArrayRef padding, IntArrayRef dilation, IntArrayRef grid);

// ---- operators ------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return a.add(b); }
inline Tensor operator+(const Tensor& a, const Scalar& b) { return a.add(b); }
inline Tensor operator+(const Scalar& a, const Tensor& b) { return b.add(a); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return a.sub(b); }
inline Tensor operator-(const Tensor& a, const Scalar& b) { return a.sub(b); }
Tensor operator-(const Scalar& a, const Tensor& b);
inline Tensor operator*(const Tensor& a, const Tensor& b) { return a.mul(b); }
inline Tensor operator*(const Tensor& a, const Scalar& b) { return a.mul(b); }
inline Tensor operator*(const Scalar& a, const Tensor& b) { return b.mul(a); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return a.div(b); }
inline Tensor operator/(const Tensor& a, const Scalar& b) { return a.div(b); }
Tensor operator/(const Scalar& a, const Tensor& b);
inline Tensor operator-(const Tensor& a) { return a.neg(); }
inline Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
inline Tensor& operator+=(Tensor& a, const Scalar& b) { return a.add_(b); }
inline Tensor& operator-=(Tensor& a, const Tensor& b) { return a.sub_(b); }
inline Tensor& operator-=(Tensor& a, const Scalar& b) { return a.sub_(b); }
inline Tensor& operator*=(Tensor& a, const Tensor& b) { return a.mul_(b); }
inline Tensor& operator*=(Tensor& a, const Scalar& b) { return a.mul_(b); }
inline Tensor& operator/=(Tensor& a, const Tensor& b) { return a.div_(b); }
inline Tensor& operator/=(Tensor& a, const Scalar& b) { return a.div_(b); }
// Comparisons give bool tensors, as in PyTorch (use equal() for a single bool).
inline Tensor operator==(const Tensor& a, const Tensor& b) { return a.eq(b); }
inline Tensor operator==(const Tensor& a, const Scalar& b) { return a.eq(b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return a.ne(b); }
inline Tensor operator!=(const Tensor& a, const Scalar& b) { return a.ne(b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return a.lt(b); }
inline Tensor operator<(const Tensor& a, const Scalar& b) { return a.lt(b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return a.le(b); }
inline Tensor operator<=(const Tensor& a, const Scalar& b) { return a.le(b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return a.gt(b); }
inline Tensor operator>(const Tensor& a, const Scalar& b) { return a.gt(b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return a.ge(b); }
inline Tensor operator>=(const Tensor& a, const Scalar& b) { return a.ge(b); }
inline Tensor operator!(const Tensor& a) { return a.logical_not(); }
inline Tensor operator&&(const Tensor& a, const Tensor& b) { return a.logical_and(b); }
inline Tensor operator||(const Tensor& a, const Tensor& b) { return a.logical_or(b); }

// ---- template definitions -------------------------------------------------------------
template <typename T>
Tensor from_vector(const std::vector<T>& values, std::optional<Shape> sizes, Device device) {
  const Shape shape = sizes ? *sizes : Shape{static_cast<int64_t>(values.size())};
  FULGUR_CHECK(numel_of(shape) == static_cast<int64_t>(values.size()), "from_vector", "shape ",
               shape_str(shape), " holds ", numel_of(shape), " elements but ", values.size(),
               " values were given");
  if constexpr (std::is_same_v<T, bool>) {  // vector<bool> has no contiguous data()
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return from_blob(bytes.data(), shape, DType::Bool).clone().to(device);
  } else {
    return from_blob(const_cast<T*>(values.data()), shape, dtype_of_v<T>).clone().to(device);
  }
}

template <typename T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> rows) {
  std::vector<T> values;
  const int64_t ncols = rows.size() ? static_cast<int64_t>(rows.begin()->size()) : 0;
  for (const auto& row : rows) {
    FULGUR_CHECK(static_cast<int64_t>(row.size()) == ncols, "tensor",
                 "rows must have equal lengths, got ", row.size(), " and ", ncols);
    values.insert(values.end(), row.begin(), row.end());
  }
  return from_vector(values, Shape{static_cast<int64_t>(rows.size()), ncols});
}

}  // namespace fulgur
