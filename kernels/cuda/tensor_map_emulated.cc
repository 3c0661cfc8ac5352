#include "fulgur/kernels/cuda/tensor_map_emulated.h"

#include <utility>

namespace fulgur::cuda {

bool encode_matrix_map(const MatrixMapArgs& a, simt::TensorMap* map, std::string* why) {
  if (std::string problem = matrix_map_problem(a); !problem.empty()) {
    if (why != nullptr) *why = std::move(problem);
    return false;
  }
  simt::TensorMap m;
  m.base = a.base;
  m.rank = 3;
  m.element_bytes = 2;
  m.dims[0] = static_cast<uint64_t>(a.cols);
  m.dims[1] = static_cast<uint64_t>(a.rows);
  m.dims[2] = static_cast<uint64_t>(matrix_map_batches(a));
  m.strides[1] = static_cast<uint64_t>(a.ld * 2);
  m.strides[2] = static_cast<uint64_t>(matrix_map_batch_bytes(a));
  m.box[0] = static_cast<uint32_t>(a.box_cols);
  m.box[1] = static_cast<uint32_t>(a.box_rows);
  m.box[2] = 1;
  *map = m;
  return true;
}

}  // namespace fulgur::cuda
