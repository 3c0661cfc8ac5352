// The kernels behind the CUDA backend's kernel table (kernels/kernel_table.h): the element-wise
// families, reductions and sequences, on the launch descriptors of kernels/kernel_args.h
// (byte strides, any dtype). Each family is one kernel source (X.cuh) built twice, for the GPU
// (X.cu, Exec::Gpu) and for the SIMT emulator (X_emulated.cc, Exec::Emulated); semantics are
// those of the CPU backend (kernels/cpu/*.cc). Pointers are device pointers for Exec::Gpu and
// host pointers for Exec::Emulated; `stream` is a cudaStream_t (nullptr: the default stream).
// Launches are asynchronous on the GPU. Bad dtypes throw fulgur::Error as on the CPU.
#pragma once

#include "fulgur/kernels/cuda/exec.h"
#include "fulgur/kernels/kernel_args.h"
#include "fulgur/kernels/scalar.h"

namespace fulgur::cuda {

// copy.cuh: op[0] = convert(op[1]), any dtype pair; op[0] = value.
template <Exec E>
void tensor_copy(const kernels::ElementwiseArgs& args, void* stream);
template <Exec E>
void tensor_fill(const kernels::ElementwiseArgs& args, const Scalar& value, void* stream);

// unary.cuh: op[0] = op(op[1]).
template <Exec E>
void tensor_unary(kernels::UnaryOp op, const kernels::ElementwiseArgs& args, void* stream);

// binary.cuh: op[0] = op(op[1], op[2]).
template <Exec E>
void tensor_binary(kernels::BinaryOp op, const kernels::ElementwiseArgs& args, void* stream);

// where_clamp.cuh: op[0] = op[1] ? op[2] : op[3]; op[0] = min(max(op[1], op[2]), op[3]).
template <Exec E>
void tensor_where(const kernels::ElementwiseArgs& args, void* stream);
template <Exec E>
void tensor_clamp(const kernels::ElementwiseArgs& args, void* stream);

// reduce.cuh: every ReduceOp, Max/Min with indices, fixed order.
template <Exec E>
void tensor_reduce(const kernels::ReduceArgs& args, void* stream);

// sequence.cuh: arange / linspace into a contiguous output.
template <Exec E>
void tensor_sequence(const kernels::SequenceArgs& args, void* stream);

}  // namespace fulgur::cuda
