// The kernels behind the CUDA backend's kernel table (kernels/kernel_table.h): the element-wise
// families, reductions, sequences, indexing, sorting, random fills, sliding windows and
// softmax, on the launch descriptors of kernels/kernel_args.h
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

// index.cuh: gather / scatter along one dim; an index out of range throws after the launch
// (the launcher waits for the stream to read the kernel's flag).
template <Exec E>
void tensor_gather(const kernels::IndexArgs& args, void* stream);
template <Exec E>
void tensor_scatter(const kernels::IndexArgs& args, kernels::ScatterMode mode, void* stream);

// sort.cuh: row-wise sort / top-k, the CPU's total order (stable, NaN largest).
template <Exec E>
void tensor_sort(const kernels::SortArgs& args, void* stream);

// random.cuh: Philox fills, element i from block (offset + i), as on the CPU.
template <Exec E>
void tensor_random(const kernels::RandomArgs& args, void* stream);

// window.cuh: im2col / col2im / max pooling over 1-3 spatial dims.
template <Exec E>
void tensor_im2col(const kernels::Im2colArgs& args, void* stream);
template <Exec E>
void tensor_col2im(const kernels::Im2colArgs& args, void* stream);
template <Exec E>
void tensor_max_pool(const kernels::MaxPoolArgs& args, void* stream);

// tensor_softmax.cuh: softmax / log-softmax along the middle dim of [outer, dim, inner].
template <Exec E>
void tensor_softmax(const kernels::SoftmaxArgs& args, void* stream);

}  // namespace fulgur::cuda
