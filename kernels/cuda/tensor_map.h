// TMA tensor maps (CUtensorMap) for the Hopper GEMM's operands: a batch of row-major 16-bit
// matrices, read in boxes of box_rows x box_cols elements with the 128-byte swizzle the wgmma
// descriptors expect, elements outside the matrix read as zero. The driver's encoder,
// cuTensorMapEncodeTiled, is found through the CUDA runtime (cudaGetDriverEntryPointByVersion),
// so nothing links libcuda directly. Host code; CUDA builds only.
#pragma once

#include <cuda.h>

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

// Whether the driver's encoder was found (else why, in *why).
bool tensor_maps_available(std::string* why);

// Fills *map, or returns false with the reason in *why (no driver entry point, a layout TMA
// cannot describe). A broadcast batch (stride 0) is encoded as one batch: read it at batch 0.
bool encode_matrix_map(const MatrixMapArgs& args, CUtensorMap* map, std::string* why);

}  // namespace fulgur::cuda
