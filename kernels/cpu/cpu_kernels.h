// The CPU backend: one function per kernel family (see kernels/kernel_table.h for the
// contracts) and register_cpu_backend(), which installs them and the host allocator.
#pragma once

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::kernels::cpu {

void unary(UnaryOp op, const ElementwiseArgs& args);
void binary(BinaryOp op, const ElementwiseArgs& args);
void where(const ElementwiseArgs& args);
void clamp(const ElementwiseArgs& args);
void copy(const ElementwiseArgs& args);
void fill(const ElementwiseArgs& args, const Scalar& value);
void reduce(const ReduceArgs& args);
void gemm(const GemmArgs& args);
void gather(const IndexArgs& args);
void scatter(const IndexArgs& args, ScatterMode mode);
void sort(const SortArgs& args);
void random(const RandomArgs& args);
void sequence(const SequenceArgs& args);
int64_t nonzero(const bool* mask, int64_t n, int64_t* out);
void im2col(const Im2colArgs& args);
void col2im(const Im2colArgs& args);
void max_pool(const MaxPoolArgs& args);
void softmax(const SoftmaxArgs& args);

Allocator& host_allocator();

// Idempotent; called by tensor/ before the first kernel launch.
void register_cpu_backend();

}  // namespace fulgur::kernels::cpu
