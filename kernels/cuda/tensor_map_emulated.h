// The emulated build's TMA tensor maps for the Hopper GEMM's operands (matrix_map.h): the same
// rules as the driver's encoder (tensor_map.h), recorded for the SIMT emulator's TMA copy
// (simt_hopper.h).
#pragma once

#include <string>

#include "fulgur/kernels/cuda/matrix_map.h"
#include "fulgur/kernels/cuda/simt_hopper.h"

namespace fulgur::cuda {

// Fills *map, or returns false with the reason in *why (a layout TMA cannot describe).
bool encode_matrix_map(const MatrixMapArgs& args, simt::TensorMap* map, std::string* why);

}  // namespace fulgur::cuda
