// Helpers that turn tensors into kernel descriptors (internal to tensor/).
#pragma once

#include <initializer_list>

#include "fulgur/kernels/kernel_args.h"
#include "fulgur/kernels/kernel_table.h"
#include "fulgur/kernels/backends.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::internal {

// All tensors on one device, else fulgur::Error naming op and the devices.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);

// Element-wise launch: op[0] = out, op[i+1] = inputs[i] broadcast to out's shape (the
// inputs must be broadcastable to it). Dimensions are coalesced where every operand allows.
kernels::ElementwiseArgs elementwise_args(const Tensor& out, std::initializer_list<Tensor> inputs,
                                          const char* op);

// Strides (elements) of `t` viewed as broadcast to `shape`: 0 for broadcast dims.
Shape broadcast_strides(const Tensor& t, IntArrayRef shape);

const kernels::KernelTable& table(const Tensor& t, const char* op);

// Throws if t has a dim of stride 0 and size > 1 (several elements share memory), which an
// in-place op would write racily: PyTorch's "unsupported operation" error.
void check_no_internal_overlap(const Tensor& t, const char* op);

// Whether a and b view overlapping bytes of the same storage.
bool may_overlap(const Tensor& a, const Tensor& b);

}  // namespace fulgur::internal
