// What a TMA tensor map of one GEMM operand describes (a batch of row-major 16-bit matrices
// read in boxes with the 128-byte swizzle), and TMA's rules for it, as plain C++: the rules
// decide which calls the Hopper GEMM takes (gemm_kernel_choice.cc) and are checked again
// before encoding, on the GPU (tensor_map.cc, the driver's encoder) and on the emulator
// (tensor_map_emulated.cc).
#pragma once

#include <cstdint>
#include <string>

namespace fulgur::cuda {

struct MatrixMapArgs {
  const void* base = nullptr;  // element (0, 0) of batch 0, 16-byte aligned
  bool bf16 = true;            // else fp16
  int64_t rows = 0, cols = 0;  // cols is the contiguous dimension
  int64_t ld = 0;              // elements between rows, a multiple of 8
  int64_t batch = 1;
  int64_t batch_stride = 0;    // elements between batches, a multiple of 8; 0 broadcasts batch 0
  int box_rows = 0, box_cols = 0;  // box_cols * 2 <= 128 bytes (the swizzle span), box_rows <= 256
};

// TMA's addressing rules for a 16-bit operand: a 16-byte aligned base, and rows (and batches,
// when there are several and they are not broadcast) a multiple of 16 bytes apart.
bool tma_addressable(const void* base, int64_t ld, int64_t batch_stride, int64_t batch);

// Why TMA cannot describe `args` (cuTensorMapEncodeTiled's rules: the above, dimensions of
// 1..2^32, strides below 2^40 bytes, boxes of at most 256 per dimension within the swizzle
// span); empty when it can.
std::string matrix_map_problem(const MatrixMapArgs& args);

// The batches a map has and their stride in bytes: a broadcast batch (stride 0, or one batch)
// is encoded as one batch of rows * ld elements, read at batch 0.
int64_t matrix_map_batches(const MatrixMapArgs& args);
int64_t matrix_map_batch_bytes(const MatrixMapArgs& args);

}  // namespace fulgur::cuda
