// Plain-data descriptions of kernel launches: raw pointers, byte strides and sizes, no
// Tensor. tensor/ fills them in (after broadcasting, promotion and dimension coalescing);
// every backend (kernels/cpu, kernels/cuda) reads the same descriptors.
#pragma once

#include <cstdint>

#include "fulgur/kernels/dtype.h"
#include "fulgur/kernels/scalar.h"

namespace fulgur::kernels {

inline constexpr int kMaxDims = 16;  // per-launch limit after coalescing; checked by tensor/

// One tensor operand: base pointer (storage data + offset) and a byte stride per dim.
struct Operand {
  char* data = nullptr;
  DType dtype = DType::Float32;
  int64_t strides[kMaxDims] = {};  // bytes; 0 for a broadcast dimension
};

// An element-wise launch over `sizes`. op[0] is the output, op[1..] the inputs, all viewed
// with the same logical shape.
struct ElementwiseArgs {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int num_operands = 0;
  Operand op[4];
  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= sizes[d];
    return n;
  }
};

enum class UnaryOp : uint8_t {
  Neg, Abs, Exp, Log, Log1p, Sqrt, Rsqrt, Sin, Cos, Tanh, Sigmoid, Relu, GeluErf, GeluTanh,
  Silu, LogicalNot, Reciprocal, Square, Erf,
};

enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Minimum, Maximum,
  Eq, Ne, Lt, Le, Gt, Ge,  // produce bool
  LogicalAnd, LogicalOr, LogicalXor,  // produce bool
};

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min, All, Any };

// Reduce the input over `red` dims for every index of the `keep` dims. The output (and the
// optional int64 indices of Max/Min, a row-major flat index over the reduced dims) are laid
// out by out_strides / idx_strides over the keep dims.
struct ReduceArgs {
  ReduceOp op = ReduceOp::Sum;
  DType in_dtype = DType::Float32;
  DType out_dtype = DType::Float32;
  const char* in = nullptr;
  char* out = nullptr;
  char* indices = nullptr;  // null unless arg-reduction wanted
  int nkeep = 0;
  int64_t keep_sizes[kMaxDims] = {};
  int64_t in_keep_strides[kMaxDims] = {};
  int64_t out_strides[kMaxDims] = {};
  int64_t idx_strides[kMaxDims] = {};
  int nred = 0;
  int64_t red_sizes[kMaxDims] = {};
  int64_t in_red_strides[kMaxDims] = {};
};

// C[b] = alpha * A[b] @ B[b] + beta * C[b] for b < batch. A is m x k with element strides
// (a_rs, a_cs), one of which is 1; likewise B (k x n). C is row-major with leading
// dimension c_rs. Batch offsets are in bytes. beta == 0 ignores C's old contents (NaN too).
struct GemmArgs {
  DType dtype = DType::Float32;
  int64_t m = 0, n = 0, k = 0;
  const char* a = nullptr;
  int64_t a_rs = 0, a_cs = 0;
  const char* b = nullptr;
  int64_t b_rs = 0, b_cs = 0;
  char* c = nullptr;
  int64_t c_rs = 0;
  double alpha = 1.0, beta = 0.0;
  int64_t batch = 1;
  const int64_t* a_offsets = nullptr;  // batch entries each, bytes
  const int64_t* b_offsets = nullptr;
  const int64_t* c_offsets = nullptr;
};

// Gather / scatter along `dim` of `self`, driven by an int64 index tensor whose shape is
// `sizes` (src, out share that shape). gather: out[i] = self[i with i[dim] = index[i]].
// scatter: self[i with i[dim] = index[i]] = src[i] (or +=). Indices are checked against
// self_dim_size; an out-of-range index throws fulgur::Error.
struct IndexArgs {
  DType dtype = DType::Float32;
  int ndim = 0;
  int dim = 0;
  int64_t sizes[kMaxDims] = {};
  char* self = nullptr;
  int64_t self_strides[kMaxDims] = {};
  int64_t self_dim_size = 0;
  const char* index = nullptr;
  int64_t index_strides[kMaxDims] = {};
  char* other = nullptr;  // gather: out; scatter: src
  int64_t other_strides[kMaxDims] = {};
};

enum class ScatterMode : uint8_t { Assign, Add };

// Sorts each row of a contiguous [rows, n] input; writes the first k sorted values and their
// int64 positions (contiguous [rows, k]). stable keeps equal elements in input order; NaN
// sorts as larger than every number, as in PyTorch.
struct SortArgs {
  DType dtype = DType::Float32;
  int64_t rows = 0, n = 0, k = 0;
  const char* in = nullptr;
  char* values = nullptr;
  int64_t* indices = nullptr;
  bool descending = false;
  bool stable = true;
};

enum class RandomKind : uint8_t { Uniform, Normal, RandInt, Bernoulli, Bits64 };

// Fills a contiguous output of `numel` elements. Element i draws Philox block
// (offset + i) under key seed. Uniform: [a, b); Normal: mean a, std b; RandInt: [a, b) as
// integers (a_int, b_int); Bernoulli: 1 with probability a, or per element from `probs`
// (same numel, contiguous, dtype of the output) when non-null; Bits64: raw 64-bit words.
struct RandomArgs {
  RandomKind kind = RandomKind::Uniform;
  DType dtype = DType::Float32;
  char* out = nullptr;
  int64_t numel = 0;
  uint64_t seed = 0;
  uint64_t offset = 0;
  double a = 0.0, b = 1.0;
  int64_t a_int = 0, b_int = 0;
  const char* probs = nullptr;
};

// Fills a contiguous output with an arithmetic sequence. Arange: start + i * step.
// Linspace over `numel` points: PyTorch's symmetric formula (from both ends).
struct SequenceArgs {
  bool linspace = false;
  DType dtype = DType::Float32;
  char* out = nullptr;
  int64_t numel = 0;
  double start = 0.0, step = 1.0, end = 0.0;
  int64_t start_int = 0, step_int = 1;
  bool integral = false;  // use the int64 fields (exact for large integers)
};

// ---- sliding windows: im2col / col2im (unfold / fold) and max pooling -----------------

inline constexpr int kMaxSpatialDims = 3;  // 1-D, 2-D and 3-D windows

// The window geometry of an N-d sliding-window op, per spatial dim d < nspatial: window
// position g (0 <= g < grid[d]) and kernel offset k (0 <= k < kernel[d]) touch image
// coordinate g * stride[d] - padding[d] + k * dilation[d]; coordinates outside
// [0, image_sizes[d]) are padding. grid is given, not derived, so callers choose floor or
// ceil rounding and asymmetric padding (windows running past the right edge).
struct WindowGeometry {
  int nspatial = 0;
  int64_t image_sizes[kMaxSpatialDims] = {};
  int64_t kernel[kMaxSpatialDims] = {};
  int64_t dilation[kMaxSpatialDims] = {};
  int64_t padding[kMaxSpatialDims] = {};
  int64_t stride[kMaxSpatialDims] = {};
  int64_t grid[kMaxSpatialDims] = {};
};

// im2col: cols[n, (c, k...), (g...)] = image[n, c, coordinate] (0 in the padding).
// col2im: image = 0, then image[n, c, coordinate] += cols[n, (c, k...), (g...)] for every
// entry inside the image, summed in row order (c, k...) then column order (g...), per
// (n, c) plane (PyTorch's order). cols is [batch, channels * prod(kernel), prod(grid)]
// with contiguous rows (the prod(grid) columns) at element strides cols_batch_stride and
// cols_row_stride (contiguous: rows * columns and columns; convolution uses a [rows, batch,
// columns] buffer: columns and batch * columns). The image is [batch, channels,
// *image_sizes] with byte strides (col2im's image is written, im2col's read). Floating
// dtypes only.
struct Im2colArgs {
  DType dtype = DType::Float32;
  WindowGeometry w;
  int64_t batch = 0, channels = 0;
  char* image = nullptr;
  int64_t image_batch_stride = 0, image_channel_stride = 0;  // bytes
  int64_t image_strides[kMaxSpatialDims] = {};                // bytes
  char* cols = nullptr;
  int64_t cols_batch_stride = 0, cols_row_stride = 0;        // elements
};

// Max pooling over windows (padding never wins): for each plane p = (n, c) and window g,
// out[p, g] = the largest image element of the window and indices[p, g] its row-major flat
// position within the plane's spatial dims; the scan runs over kernel offsets in row-major
// order and takes an element when it is larger than the best so far or NaN (PyTorch's CPU
// rule: NaN propagates). out and indices are contiguous [batch * channels, prod(grid)].
// A window without image elements (possible only with padding and dilation) gives -inf and
// the flat position of its first in-range start, exactly as PyTorch's kernel does.
struct MaxPoolArgs {
  DType dtype = DType::Float32;
  WindowGeometry w;
  int64_t batch = 0, channels = 0;
  const char* image = nullptr;
  int64_t image_batch_stride = 0, image_channel_stride = 0;  // bytes
  int64_t image_strides[kMaxSpatialDims] = {};                // bytes
  char* out = nullptr;
  int64_t* indices = nullptr;
};

// A grouped convolution (cross-correlation, as torch's conv) without bias, over contiguous
// buffers: x [batch, in_channels, *image], weight [out_channels, in_channels / groups,
// *kernel], y [batch, out_channels, *grid]. Padding is symmetric: grid[d] = (image + 2 padding
// - dilation (kernel - 1) - 1) / stride + 1. forward writes y from x and weight;
// backward_input writes dx (x's shape) from dy and weight; backward_weight writes dweight
// (weight's shape) from x and dy. Each output is overwritten.
struct ConvArgs {
  DType dtype = DType::Float32;
  WindowGeometry w;
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  bool deterministic = false;  // only algorithms that give the same bits on every run
  bool benchmark = false;      // time the candidate algorithms once per problem (cudnn.benchmark)
  const char* x = nullptr;
  const char* weight = nullptr;
  char* y = nullptr;
  const char* dy = nullptr;
  char* dx = nullptr;
  char* dweight = nullptr;
};

// Training-mode batch normalisation of contiguous x [batch, channels, spatial] over the batch
// and spatial dims. The per-channel buffers (weight, bias, running_mean, running_var,
// save_mean, save_invstd, dweight, dbias) are contiguous [channels] of float64 for float64
// data and float32 otherwise; weight and bias are always given (ones and zeros for "none").
// forward writes y, save_mean and save_invstd = 1 / sqrt(biased variance + eps) and, when
// running_mean and running_var are set (both or neither), moves them towards the batch mean
// and unbiased variance by `momentum`. backward writes dx, dweight and dbias from dy, x, weight
// and the saved statistics.
struct BatchNormArgs {
  DType dtype = DType::Float32;
  int64_t batch = 0, channels = 0, spatial = 1;
  double eps = 1e-5, momentum = 0.1;
  const char* x = nullptr;
  const char* weight = nullptr;
  const char* bias = nullptr;
  char* running_mean = nullptr;
  char* running_var = nullptr;
  char* save_mean = nullptr;  // forward: written; backward: read
  char* save_invstd = nullptr;
  char* y = nullptr;
  const char* dy = nullptr;
  char* dx = nullptr;
  char* dweight = nullptr;
  char* dbias = nullptr;
};

// Softmax or log-softmax along the middle dim of contiguous [outer, dim, inner] buffers
// (in and out have that layout): out = exp(x - max) / sum exp(x - max), or its log,
// computed in opmath precision. A NaN in a slice makes the whole slice NaN (PyTorch).
struct SoftmaxArgs {
  DType dtype = DType::Float32;
  bool log = false;
  int64_t outer = 0, dim = 0, inner = 0;
  const char* in = nullptr;
  char* out = nullptr;
};

// Fused cross-entropy with class-index targets (torch.nn.functional.cross_entropy's per-row
// loss): contiguous [rows, classes] logits, int64 targets [rows], optional class weights
// [classes] (null: all ones), ignore_index, label smoothing; all float buffers of `dtype`.
// forward writes per row the loss (weighted, smoothing included; 0 for ignored rows), the
// log-sum-exp (kept for backward: O(rows) memory) and the target's weight (0 when ignored),
// and sets *bad_target (device memory, initially 0) to 1 + a row whose target is neither a
// class nor ignore_index (that row's loss is NaN). backward writes d(logits) from lse and the
// gradient of each row's loss, recomputing the probabilities.
struct CrossEntropyArgs {
  DType dtype = DType::Float32;
  int64_t rows = 0, classes = 0;
  const char* logits = nullptr;
  const int64_t* target = nullptr;
  const char* weight = nullptr;
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  // forward
  char* loss = nullptr;
  char* lse = nullptr;
  char* row_weight = nullptr;
  int32_t* bad_target = nullptr;
  // backward (lse as above)
  const char* grad_rows = nullptr;
  char* dlogits = nullptr;
};

// LayerNorm over the last `cols` elements of contiguous [rows, cols] buffers
// (torch.nn.functional.layer_norm: biased variance, y = (x - mean) * rstd * gamma + beta).
// gamma / beta [cols] may be null (no affine). forward writes y and, per row, mean and rstd
// (kept for backward: O(rows) memory). backward writes dx, and dgamma / dbeta when non-null,
// summed over rows in a fixed order.
struct LayerNormArgs {
  DType dtype = DType::Float32;
  int64_t rows = 0, cols = 0;
  double eps = 1e-5;
  const char* x = nullptr;
  const char* gamma = nullptr;
  const char* beta = nullptr;
  char* mean = nullptr;  // forward: written; backward: read
  char* rstd = nullptr;
  // forward
  char* y = nullptr;
  // backward
  const char* dy = nullptr;
  char* dx = nullptr;
  char* dgamma = nullptr;
  char* dbeta = nullptr;
};

// One parameter of a multi-tensor Adam / AdamW step: contiguous buffers of `numel` elements.
struct AdamTensorArgs {
  char* param = nullptr;
  const char* grad = nullptr;
  char* exp_avg = nullptr;
  char* exp_avg_sq = nullptr;
  int64_t numel = 0;
};

// An Adam / AdamW step (torch.optim.Adam's operation order, no amsgrad) over `count`
// tensors of one dtype on one device that share the step number (from 1; the bias
// corrections come from it).
struct AdamArgs {
  DType dtype = DType::Float32;
  const AdamTensorArgs* tensors = nullptr;
  int64_t count = 0;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  int64_t step = 1;
  bool decoupled = false;  // AdamW
  bool maximize = false;
};

// GradScaler's unscale (torch._amp_foreach_non_finite_check_and_unscale_): every buffer
// (contiguous, `dtype`, one device) is multiplied by inv_scale in place, and *found_inf (one
// element of `dtype` on that device) is set to 1 if any element was inf or NaN; it is never
// reset, so one flag can collect several launches.
struct UnscaleArgs {
  DType dtype = DType::Float32;
  char* const* grads = nullptr;
  const int64_t* numel = nullptr;
  int64_t count = 0;
  double inv_scale = 1.0;
  char* found_inf = nullptr;
};

}  // namespace fulgur::kernels
