// The per-device kernel table. tensor/ computes shapes, dtypes and strides once and calls
// kernels_for(device).<family>(args); each backend fills a table at registration. A null
// entry means "not available on this device" and becomes a fulgur::Error naming the op.
#pragma once

#include <cstddef>

#include "fulgur/kernels/device.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::kernels {

struct KernelTable {
  // op[0] = op(op[1]); op[0] dtype equals op[1] dtype except LogicalNot (bool out).
  void (*unary)(UnaryOp op, const ElementwiseArgs& args) = nullptr;
  // op[0] = op(op[1], op[2]); inputs share a dtype; comparisons/logical ops write bool.
  void (*binary)(BinaryOp op, const ElementwiseArgs& args) = nullptr;
  // op[0] = op[1] ? op[2] : op[3]; op[1] is bool.
  void (*where)(const ElementwiseArgs& args) = nullptr;
  // op[0] = min(max(op[1], op[2]), op[3]); NaN in op[1] propagates.
  void (*clamp)(const ElementwiseArgs& args) = nullptr;
  // op[0] = convert(op[1]); any dtype pair, same device.
  void (*copy)(const ElementwiseArgs& args) = nullptr;
  // op[0] = value.
  void (*fill)(const ElementwiseArgs& args, const Scalar& value) = nullptr;
  void (*reduce)(const ReduceArgs& args) = nullptr;
  void (*gemm)(const GemmArgs& args) = nullptr;
  void (*gather)(const IndexArgs& args) = nullptr;
  void (*scatter)(const IndexArgs& args, ScatterMode mode) = nullptr;
  void (*sort)(const SortArgs& args) = nullptr;
  void (*random)(const RandomArgs& args) = nullptr;
  void (*sequence)(const SequenceArgs& args) = nullptr;
  // Writes the positions of true elements of a contiguous bool buffer into out (which has
  // room for count_true(...) entries) and returns how many there were.
  int64_t (*nonzero)(const bool* mask, int64_t n, int64_t* out) = nullptr;
  // Copies nbytes between two devices (host<->device); contiguous buffers. Returns when the
  // copy is done.
  void (*copy_bytes)(void* dst, Device dst_device, const void* src, Device src_device,
                     size_t nbytes) = nullptr;
  // Optional: a host-to-device copy out of page-locked memory (pinned_host_allocator(),
  // allocator.h) queued on the device's current stream, not waited for (non_blocking=True).
  // The pinned block is not reused until the copy is done, even if its tensor is freed.
  void (*copy_bytes_async)(void* dst, Device dst_device, const void* pinned_src, size_t nbytes) = nullptr;
  // Sliding windows (kernel_args.h: Im2colArgs, MaxPoolArgs): unfold, fold, max pooling.
  void (*im2col)(const Im2colArgs& args) = nullptr;
  void (*col2im)(const Im2colArgs& args) = nullptr;
  void (*max_pool)(const MaxPoolArgs& args) = nullptr;
  // Softmax / log-softmax along one dim (kernel_args.h: SoftmaxArgs).
  void (*softmax)(const SoftmaxArgs& args) = nullptr;

  // ---- optional fused families: null means "compose the op from the families above" -----
  // (register_kernels leaves them null; callers test them first).
  // Fused cross-entropy (kernel_args.h: CrossEntropyArgs); a backend may take some dtypes
  // only and says which through supports_cross_entropy.
  void (*cross_entropy_forward)(const CrossEntropyArgs& args) = nullptr;
  void (*cross_entropy_backward)(const CrossEntropyArgs& args) = nullptr;
  bool (*supports_cross_entropy)(DType dtype) = nullptr;
  // Fused LayerNorm (kernel_args.h: LayerNormArgs), for the dtypes supports_layer_norm takes.
  void (*layer_norm_forward)(const LayerNormArgs& args) = nullptr;
  void (*layer_norm_backward)(const LayerNormArgs& args) = nullptr;
  bool (*supports_layer_norm)(DType dtype) = nullptr;
  // Convolution without bias (kernel_args.h: ConvArgs), for the problems supports_conv takes
  // (its x pointer names the device): the CUDA backend's cuDNN, where cuDNN loads.
  void (*conv_forward)(const ConvArgs& args) = nullptr;
  void (*conv_backward_input)(const ConvArgs& args) = nullptr;
  void (*conv_backward_weight)(const ConvArgs& args) = nullptr;
  bool (*supports_conv)(const ConvArgs& args) = nullptr;
  // Training-mode batch norm (kernel_args.h: BatchNormArgs), for the problems
  // supports_batch_norm takes (its x pointer names the device): the CUDA backend's cuDNN.
  void (*batch_norm_forward)(const BatchNormArgs& args) = nullptr;
  void (*batch_norm_backward)(const BatchNormArgs& args) = nullptr;
  bool (*supports_batch_norm)(const BatchNormArgs& args) = nullptr;
  // Multi-tensor optimizer and mixed-precision steps (AdamArgs, UnscaleArgs), for the dtypes
  // supports_multi_tensor takes.
  void (*adam_step)(const AdamArgs& args) = nullptr;
  void (*unscale_and_check_finite)(const UnscaleArgs& args) = nullptr;
  bool (*supports_multi_tensor)(DType dtype) = nullptr;
};

// The table of a device type (entries null until a backend registers). Registration fills
// the (non-optional) families a backend leaves null with functions that throw fulgur::Error naming the op
// and device of the launch (LaunchContext) and the missing family, so an op that a backend
// lacks fails with a message instead of calling a null pointer.
const KernelTable& kernels_for(DeviceType type);
void register_kernels(DeviceType type, const KernelTable& table);

// The op and device of this thread's latest kernels_for_device() call (backends.h): what the
// error of a missing family names.
struct LaunchContext {
  const char* op = "kernel";
  Device device;
};
LaunchContext& launch_context();

}  // namespace fulgur::kernels
