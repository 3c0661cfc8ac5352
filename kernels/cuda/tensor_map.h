// TMA tensor maps (CUtensorMap) for the Hopper GEMM's operands (matrix_map.h): a batch of
// row-major 16-bit matrices, read in boxes of box_rows x box_cols elements with the 128-byte
// swizzle the wgmma descriptors expect, elements outside the matrix read as zero. The driver's
// encoder, cuTensorMapEncodeTiled, is found through the CUDA runtime
// (cudaGetDriverEntryPointByVersion), so nothing links libcuda directly. Host code; CUDA builds
// only (the emulator's maps: tensor_map_emulated.h).
#pragma once

#include <cuda.h>

#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/matrix_map.h"

namespace fulgur::cuda {

// Whether the driver's encoder was found (else why, in *why).
bool tensor_maps_available(std::string* why);

// Fills *map, or returns false with the reason in *why (no driver entry point, a layout TMA
// cannot describe). A broadcast batch (stride 0) is encoded as one batch: read it at batch 0.
bool encode_matrix_map(const MatrixMapArgs& args, CUtensorMap* map, std::string* why);

}  // namespace fulgur::cuda
